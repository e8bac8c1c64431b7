/** Small helpers shared by the WebSocket routes. */
import type { WebSocket } from "ws";

/** Pings every 30 s and ends a connection whose peer stopped answering; returns the stopper. */
export function keepAlive(socket: WebSocket, everyMs = 30_000): () => void {
  let alive = true;
  socket.on("pong", () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Data of a frame as one Buffer, whatever form ws delivered it in. */
export function frameBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}
