"""Crash-safe recordings of a run: raw byte streams, decoded plots, published outputs."""

from .format import RECORD_KINDS, Kind
from .reader import RecordingReport, iter_recording, read_recording, recording_files
from .writer import RecordWriter

__all__ = ["Kind", "RECORD_KINDS", "RecordWriter", "iter_recording", "read_recording",
           "recording_files", "RecordingReport"]
