"""Episode recording to MCAP (ROS 2 message schemas, opens in Foxglove) and top-down GIF replay."""

from fleetmind.sim.record.fleet import RecordingFleet
from fleetmind.sim.record.writer import EpisodeWriter

__all__ = ["EpisodeWriter", "RecordingFleet"]
