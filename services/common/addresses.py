"""Client addresses as per-address limits count them."""
from __future__ import annotations

import ipaddress


def address_group(address: str) -> str:
    """The unit a per-address limit counts: an IPv4 address, or an IPv6 address's /64 (a home
    or a phone is given a whole /64 and may take a new address in it for every request).
    Anything that is not an IP address counts as itself."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip.ipv4_mapped) if ip.version == 6 else str(ip)
