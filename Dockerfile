# The Tessera operators' image for real meta clusters (deploy/operator). Node.js 24 runs the
# TypeScript sources directly (type stripping), so there is no build step.
FROM node:24-slim
WORKDIR /tessera
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts
COPY src ./src
COPY deploy ./deploy
USER 65532
CMD ["node", "src/operators/main.ts"]
