"""Licensebot's licensing service: rules, roles and seats. Plain values in, typed results or domain errors out."""
