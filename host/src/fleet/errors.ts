/** Problems of the fleet link itself (not of one command: those are CommandError). */
export class FleetError extends Error {
  constructor(
    readonly code: 'tls_file' | 'state_file' | 'broker_refused' | 'broker_error',
    message: string,
  ) {
    super(message);
    this.name = 'FleetError';
  }
}

/**
 * A broker's refusal in words: mqtt.js reports the CONNACK return code (MQTT 3.1.1 §3.2.2.3) as the
 * error's `code`, and the operator needs to know which setting to fix.
 */
export function brokerError(broker: string, e: Error & { code?: unknown }): FleetError {
  const hints: Record<number, string> = {
    1: 'it does not speak MQTT 3.1.1',
    2: 'it rejected the client id',
    3: 'the server is unavailable',
    4: 'bad username or password (fleet.username, fleet.password)',
    5: 'not authorized (the broker ACL must allow this client to publish and subscribe spBv1.0/…)',
  };
  if (typeof e.code === 'number' && hints[e.code] !== undefined) {
    return new FleetError('broker_refused', `broker ${broker} refused the connection: ${hints[e.code]}`);
  }
  return new FleetError('broker_error', `broker ${broker}: ${e.message}`);
}
