"""The serial codec rig uses: ``rig._ext.serial_codec``, or its pure-Python twin
(``reference.py``) under ``RIG_PUREPYTHON=1`` (:mod:`rig.twins`). Import the codec from here,
never from ``rig._ext`` directly, so that the switch reaches every user."""

from rig.twins import load

serial_codec = load("serial_codec", "firmware_interfaces.serial_sensor.reference")

SerialFrameDecoder = serial_codec.SerialFrameDecoder
encode_frame = serial_codec.encode_frame
encode_plots = serial_codec.encode_plots
