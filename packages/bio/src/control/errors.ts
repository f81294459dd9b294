// The one operating error of the control protocol: a peer sent something
// that is not a well-formed frame or message. The connection that carried it
// is answered (when an id is known) and closed.
export class ControlProtocolError extends Error {
  override name = 'ControlProtocolError';
}
