"""Atera connector: X-API-KEY (or JWT bearer) auth, customers, contacts, agents + SNMP devices, alert polling."""

from __future__ import annotations
