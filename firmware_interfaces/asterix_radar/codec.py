"""The CAT048 codec rig uses: ``rig._ext.asterix048``, or its pure-Python twin
(``reference.py``) under ``RIG_PUREPYTHON=1`` (:mod:`rig.twins`). Import the codec from here,
never from ``rig._ext`` directly, so that the switch reaches every user."""

from rig.twins import load

asterix048 = load("asterix048", "firmware_interfaces.asterix_radar.reference")

Cat048Decoder = asterix048.Cat048Decoder
encode = asterix048.encode
