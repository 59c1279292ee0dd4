# The Tessera operators' image for real meta clusters (deploy/operator). Node.js 24 runs the
# TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim
WORKDIR /tessera
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY src ./src
COPY deploy ./deploy
USER 65532
# A 2 MiB young generation (V8 sizes it up to 16 MiB per semi-space as allocation grows): the
# operator allocates in bursts while a fleet is created, and the larger young generation kept
# 1.2 MiB of RSS per guest resident for good; with 2 MiB it was 0.5 MiB per guest, 0.35 MiB of it
# live after a full GC, at no measured cost in throughput (bench/operator-scale.ts, which runs
# the operator with these options too).
ENV NODE_OPTIONS="--max-semi-space-size=2"
CMD ["node", "src/operators/main.ts"]
