/** InstallError: a problem with registering the host that the customer can fix; `usage` ones come from how it was asked for. */
export class InstallError extends Error {
  override name = 'InstallError';
  constructor(
    message: string,
    readonly kind: 'usage' | 'filesystem' = 'filesystem',
  ) {
    super(message);
  }
}
