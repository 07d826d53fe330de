// The App Mesh client, loaded with `import('./app-mesh-client.js')` at the first App Mesh read (MESH_NAMES is
// opt-in). A dynamic import of the SDK package itself would keep every App Mesh command in the bundle: esbuild
// cannot tree-shake a namespace it hands out; this module names only the client.
export { AppMeshClient } from '@aws-sdk/client-app-mesh';
