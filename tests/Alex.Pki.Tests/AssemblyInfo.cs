// These tests run where the robot runs (Linux): Unix file modes and the openssl CLI are part of what they check.
[assembly: System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
