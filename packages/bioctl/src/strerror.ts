// strerror(3) wording for the errno codes Node reports, for err(3)-style lines.
const messages: Readonly<Record<string, string>> = {
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ECONNREFUSED: 'Connection refused',
  ECONNRESET: 'Connection reset by peer',
  ENOTSOCK: 'Socket operation on non-socket',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  ENXIO: 'Device not configured',
  EIO: 'Input/output error',
  ENOTTY: 'Inappropriate ioctl for device',
  EAGAIN: 'Resource temporarily unavailable',
};

export function strerror(code: string): string {
  return messages[code] ?? code;
}
