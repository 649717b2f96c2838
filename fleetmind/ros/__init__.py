"""The ROS 2 edge: every rclpy node, the node graph, ``fleetmind up`` and the message codecs."""
