"""Bus recordings in MCAP, the log format of ROS 2 and Foxglove: layout, writing, reading, replay
timing and summaries, for `carnel record`, `carnel replay` and `carnel info`."""
from carnel.kernel.tools.recording.layout import BusMessage
from carnel.kernel.tools.recording.reader import RecordingError, RecordingReader
from carnel.kernel.tools.recording.summary import Tally, format_summary, human_bytes, plural
from carnel.kernel.tools.recording.timing import Pace
from carnel.kernel.tools.recording.writer import RecordingWriter

__all__ = [
    "BusMessage",
    "Pace",
    "RecordingError",
    "RecordingReader",
    "RecordingWriter",
    "Tally",
    "format_summary",
    "human_bytes",
    "plural",
]
