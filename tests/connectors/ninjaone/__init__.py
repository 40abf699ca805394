"""Tests of the NinjaOne connector and its emulator."""
