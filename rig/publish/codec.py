"""The CAT062 codec and the HDLC framing rig.publish uses: ``rig._ext.asterix062`` and
``rig._ext.hdlc_framing``, or their pure-Python twins (``cat062_reference.py``,
``hdlc_reference.py``) under ``RIG_PUREPYTHON=1`` (:mod:`rig.twins`). Import them from here,
never from ``rig._ext`` directly, so that the switch reaches every user."""

from rig.twins import load

asterix062 = load("asterix062", "rig.publish.cat062_reference")
hdlc_framing = load("hdlc_framing", "rig.publish.hdlc_reference")

Cat062Decoder = asterix062.Cat062Decoder
encode = asterix062.encode
HdlcDecoder = hdlc_framing.HdlcDecoder
hdlc_encode = hdlc_framing.hdlc_encode
