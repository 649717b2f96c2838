"""Tools for testing: the scripted LLM server, the firmware SITL, fault injectors, fuzzers, the MAVLink vehicle
double."""
