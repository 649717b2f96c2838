"""ROS 2 (Jazzy) message definitions in MCAP's ``ros2msg`` schema encoding: the main definition, then
every dependency after a ``====`` line, as ``ros2 bag`` writes them, so Foxglove decodes them."""

from __future__ import annotations

_SEP = "=" * 80

_DEFS: dict[str, str] = {
    "builtin_interfaces/Time": "int32 sec\nuint32 nanosec",
    "builtin_interfaces/Duration": "int32 sec\nuint32 nanosec",
    "std_msgs/Header": "builtin_interfaces/Time stamp\nstring frame_id",
    "std_msgs/ColorRGBA": "float32 r\nfloat32 g\nfloat32 b\nfloat32 a",
    "std_msgs/String": "string data",
    "geometry_msgs/Point": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Quaternion": "float64 x 0\nfloat64 y 0\nfloat64 z 0\nfloat64 w 1",
    "geometry_msgs/Vector3": "float64 x\nfloat64 y\nfloat64 z",
    "geometry_msgs/Pose": "Point position\nQuaternion orientation",
    "geometry_msgs/PoseStamped": "std_msgs/Header header\nPose pose",
    "sensor_msgs/Image": (
        "std_msgs/Header header\nuint32 height\nuint32 width\nstring encoding\nuint8 is_bigendian\nuint32 step\n"
        "uint8[] data"
    ),
    "sensor_msgs/CompressedImage": "std_msgs/Header header\nstring format\nuint8[] data",
    "visualization_msgs/UVCoordinate": "float32 u\nfloat32 v",
    "visualization_msgs/MeshFile": "string filename\nuint8[] data",
    "visualization_msgs/Marker": (
        "int32 ARROW=0\nint32 CUBE=1\nint32 SPHERE=2\nint32 CYLINDER=3\nint32 LINE_STRIP=4\nint32 LINE_LIST=5\n"
        "int32 CUBE_LIST=6\nint32 SPHERE_LIST=7\nint32 POINTS=8\nint32 TEXT_VIEW_FACING=9\nint32 MESH_RESOURCE=10\n"
        "int32 TRIANGLE_LIST=11\nint32 ARROW_STRIP=12\nint32 ADD=0\nint32 MODIFY=0\nint32 DELETE=2\nint32 DELETEALL=3\n"
        "std_msgs/Header header\nstring ns\nint32 id\nint32 type\nint32 action\ngeometry_msgs/Pose pose\n"
        "geometry_msgs/Vector3 scale\nstd_msgs/ColorRGBA color\nbuiltin_interfaces/Duration lifetime\n"
        "bool frame_locked\ngeometry_msgs/Point[] points\nstd_msgs/ColorRGBA[] colors\nstring texture_resource\n"
        "sensor_msgs/CompressedImage texture\nUVCoordinate[] uv_coordinates\nstring text\nstring mesh_resource\n"
        "MeshFile mesh_file\nbool mesh_use_embedded_materials"
    ),
    "visualization_msgs/MarkerArray": "Marker[] markers",
    "geometry_msgs/Transform": "Vector3 translation\nQuaternion rotation",
    "geometry_msgs/TransformStamped": "std_msgs/Header header\nstring child_frame_id\nTransform transform",
    "tf2_msgs/TFMessage": "geometry_msgs/TransformStamped[] transforms",
    "geometry_msgs/Twist": "Vector3 linear\nVector3 angular",
    "geometry_msgs/PoseWithCovariance": "Pose pose\nfloat64[36] covariance",
    "geometry_msgs/TwistWithCovariance": "Twist twist\nfloat64[36] covariance",
    "nav_msgs/Odometry": (
        "std_msgs/Header header\nstring child_frame_id\ngeometry_msgs/PoseWithCovariance pose\n"
        "geometry_msgs/TwistWithCovariance twist"
    ),
}

_DEPS: dict[str, tuple[str, ...]] = {
    "std_msgs/Header": ("builtin_interfaces/Time",),
    "geometry_msgs/Pose": ("geometry_msgs/Point", "geometry_msgs/Quaternion"),
    "geometry_msgs/PoseStamped": ("std_msgs/Header", "geometry_msgs/Pose"),
    "sensor_msgs/Image": ("std_msgs/Header",),
    "sensor_msgs/CompressedImage": ("std_msgs/Header",),
    "visualization_msgs/Marker": (
        "std_msgs/Header",
        "geometry_msgs/Pose",
        "geometry_msgs/Vector3",
        "std_msgs/ColorRGBA",
        "builtin_interfaces/Duration",
        "geometry_msgs/Point",
        "sensor_msgs/CompressedImage",
        "visualization_msgs/UVCoordinate",
        "visualization_msgs/MeshFile",
    ),
    "visualization_msgs/MarkerArray": ("visualization_msgs/Marker",),
    "geometry_msgs/Transform": ("geometry_msgs/Vector3", "geometry_msgs/Quaternion"),
    "geometry_msgs/TransformStamped": ("std_msgs/Header", "geometry_msgs/Transform"),
    "tf2_msgs/TFMessage": ("geometry_msgs/TransformStamped",),
    "geometry_msgs/Twist": ("geometry_msgs/Vector3",),
    "geometry_msgs/PoseWithCovariance": ("geometry_msgs/Pose",),
    "geometry_msgs/TwistWithCovariance": ("geometry_msgs/Twist",),
    "nav_msgs/Odometry": ("std_msgs/Header", "geometry_msgs/PoseWithCovariance", "geometry_msgs/TwistWithCovariance"),
}


def _closure(name: str, seen: list[str]) -> None:
    for dep in _DEPS.get(name, ()):
        if dep not in seen:
            seen.append(dep)
            _closure(dep, seen)


def msgdef(name: str) -> str:
    """The full ``ros2msg`` text of ``pkg/Type`` (e.g. ``geometry_msgs/PoseStamped``)."""
    deps: list[str] = []
    _closure(name, deps)
    parts = [_DEFS[name]] + [f"{_SEP}\nMSG: {d}\n{_DEFS[d]}" for d in deps]
    return "\n".join(parts)


def schema_name(name: str) -> str:
    """MCAP schema name as ROS 2 writes it: ``geometry_msgs/msg/PoseStamped``."""
    pkg, typ = name.split("/")
    return f"{pkg}/msg/{typ}"
