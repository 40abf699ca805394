"""ConnectWise Automate (LabTech) connector: apitoken login + ClientId, clients → locations, page/pageSize lists."""

from __future__ import annotations
