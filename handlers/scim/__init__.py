"""The SCIM door: the vendor's SCIM 2.0 endpoint, spoken to with scim2-client (bot/provisioning.py's Vendor)."""
