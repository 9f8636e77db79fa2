"""The picture in latitude and longitude, for the page: done in the web server's process."""

from __future__ import annotations

import numpy as np
import pymap3d

STATUS_NAMES = ("tentative", "confirmed", "coasting", "deleted")


class PictureGeometry:
    """Turns the run's ``state`` messages (ENU tracks, polar plots) into what the page
    draws, given the ``setup`` message (origin, sites, partner names)."""

    def __init__(self, setup: dict):
        o = setup["origin"]
        self.origin = (o["lat"], o["lon"], o["alt"])
        self.sites = np.array([(s["lat"], s["lon"], s["alt"]) for s in setup["sensors"]],
                              dtype=float).reshape(-1, 3)
        self.partners = setup["partners"]

    def tracks(self, columns: dict) -> list[dict]:
        if not columns.get("id"):
            return []
        e, n, u = (np.asarray(columns[k], float) for k in ("e", "n", "u"))
        lat, lon, alt = pymap3d.enu2geodetic(e, n, u, *self.origin)
        ve, vn = np.asarray(columns["ve"], float), np.asarray(columns["vn"], float)
        speed = np.hypot(ve, vn)
        heading = np.degrees(np.arctan2(ve, vn)) % 360.0
        out = []
        for i, track_id in enumerate(columns["id"]):
            mask = int(columns["partners"][i])
            status = int(columns["status"][i])
            out.append({
                "id": int(track_id), "lat": round(float(lat[i]), 6),
                "lon": round(float(lon[i]), 6), "alt": round(float(alt[i])),
                "speed": round(float(speed[i]), 1), "heading": round(float(heading[i])),
                "status": STATUS_NAMES[status] if status < len(STATUS_NAMES) else str(status),
                "partners": [p for b, p in enumerate(self.partners) if mask >> b & 1],
            })
        return out

    def plots(self, columns: dict) -> list[list]:
        """``[sensor index, lat, lon]`` per plot."""
        sensor = np.asarray(columns.get("sensor", ()), int)
        if not sensor.size or not self.sites.size:
            return []
        known = sensor < len(self.sites)
        sensor = sensor[known]
        site = self.sites[sensor]
        lat, lon, _ = pymap3d.aer2geodetic(
            np.degrees(np.asarray(columns["az"], float)[known]),
            np.degrees(np.asarray(columns["el"], float)[known]),
            np.asarray(columns["range"], float)[known], site[:, 0], site[:, 1], site[:, 2])
        return [[int(s), round(float(a), 5), round(float(b), 5)]
                for s, a, b in zip(sensor, lat, lon)]

    def state(self, message: dict) -> dict:
        """A ``state`` message as the page draws it."""
        out = {k: v for k, v in message.items() if k not in ("tracks", "plots")}
        out["tracks"] = self.tracks(message.get("tracks") or {})
        out["plots"] = self.plots(message.get("plots") or {})
        return out
