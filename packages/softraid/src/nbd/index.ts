// Public surface of the NBD server for the daemon.
export { NbdServer, type NbdServerOptions, type NbdServerTlsOptions } from './server.js';
export { MapExportRegistry, type ExportRegistry, type ExportListing } from './export-registry.js';
export { DEFAULT_LIMITS, type NbdServerLimits } from './limits.js';
