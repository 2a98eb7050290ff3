#!/bin/sh
# The OGC's SensorThings API 1.0 conformance suite (opengeospatial/ets-sta10, classes A.1-A.3) against dikom,
# without TEAM Engine and without Maven Central: src/dikom/sensors/tests/test_ogc_ets.py compiles the suite's
# test classes with javac against Debian's packages and runs them with TestNG against a live dikom server.
#
#   scripts/ogc_sta_conformance.sh /path/to/ets-sta10            # SQLite
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/dikom_ets scripts/ogc_sta_conformance.sh /path/to/ets-sta10
#
# The suite is not part of this repository: clone https://github.com/opengeospatial/ets-sta10 first.
# Two API jars it compiles against that Debian does not package (jakarta.ws.rs-api, joda-time) are taken from
# the local Maven repository (~/.m2/repository or DIKOM_MAVEN_REPOSITORY). See docs/sensors.md.
set -eu
ets="${1:?usage: $0 <checkout of opengeospatial/ets-sta10>}"
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends default-jdk-headless testng libandroid-json-java libhttpclient-java >/dev/null
fi
make install-dev >/dev/null
extra=""
if [ -n "${DATABASE_URL:-}" ]; then extra="--create-db"; fi
DIKOM_OGC_ETS_STA10="$(cd "$ets" && pwd)" .venv/bin/pytest $extra -p no:randomly -q src/dikom/sensors/tests/test_ogc_ets.py
