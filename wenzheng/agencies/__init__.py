"""Agencies (机构): the tenants, and their departments."""
