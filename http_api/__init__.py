"""The local HTTP control API (aiohttp): ``create_app`` builds it around the daemon's services."""

from http_api.app import create_app

__all__ = ["create_app"]
