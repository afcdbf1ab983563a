# reprod daemon image. Runs as a non-root user and drives the host's Docker engine
# through its socket (mounted at run time), so builds run as siblings, not nested.
#
#   docker build --build-arg BASE_IMAGE=<a Debian image with Node 24 at /usr/local/bin/node> -t reprod .
#   docker run -d --name reprod \
#     -v /var/run/docker.sock:/var/run/docker.sock --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v reprod-data:/var/lib/reprod -v "$PWD/reprod.yaml:/etc/reprod/reprod.yaml:ro" \
#     -e REPROD_API_TOKEN -p 127.0.0.1:8480:8480 reprod
#
# The config inside the container must listen on all interfaces (daemon.api.host: 0.0.0.0)
# for the published port to reach it; keep the host side on loopback or behind TLS.
# The build context needs production dependencies installed (`npm ci --omit=dev`);
# .dockerignore keeps dev-only packages and local state out.
ARG BASE_IMAGE=node:24-bookworm-slim
FROM ${BASE_IMAGE}

ENV NODE_ENV=production \
    REPROD_LOG_FORMAT=json \
    TZ=UTC \
    LC_ALL=C.UTF-8

WORKDIR /opt/reprod
COPY --chown=0:0 package.json ./
COPY --chown=0:0 node_modules ./node_modules
COPY --chown=0:0 src ./src
COPY --chown=0:0 rebuilders ./rebuilders

# A fixed uid/gid (no passwd entry needed); the data volume is owned by it.
USER 0
RUN mkdir -p /var/lib/reprod /etc/reprod && chown 10001:10001 /var/lib/reprod && node --version
USER 10001:10001
VOLUME ["/var/lib/reprod"]
EXPOSE 8480

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.REPROD_API_PORT || 8480) + '/healthz').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "/opt/reprod/src/cli/main.ts"]
CMD ["daemon", "--config", "/etc/reprod/reprod.yaml"]
