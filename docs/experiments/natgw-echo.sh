#!/bin/bash
# Stands in for nulltun in `natgw bench --nulltun natgw-echo.sh`: natgw's whole gateway (its threads, idle
# strategy, TUN layer, JVM flags) with worker-echo.patch applied, so the pipeline is replaced by an echo.
# NATGW_ECHO_TREE: a natgw tree with the patch applied and built (mvn -DskipTests package).
# Arguments (nulltun's -v -q N TUN) are ignored: natgw opens ngw0 with its default offloads and 2 queues.
export NATGW_JAVA_OPTS="-Dnatgw.echo=true"
exec "${NATGW_ECHO_TREE:?set NATGW_ECHO_TREE to a patched, built natgw tree}/natgw" run --fresh --tun ngw0 \
  --inside 10.77.1.0/24 --snat 10.77.2.100 --port-strategy reserve --warmup-rounds 0 --queues 2
