import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the fake does with one request: answer, stall (never answer), drop or cut the connection mid-body. */
export type FakeReply =
  | { status: number; body?: unknown; raw?: string; headers?: Record<string, string> }
  | { stall: true }
  | { drop: true }
  /** Sends the head and part of the body, then cuts the connection. */
  | { truncate: string };

export type FakeHandler = (request: FakeRequest, index: number) => FakeReply;

export interface FakeServer {
  url: string;
  port: number;
  requests: FakeRequest[];
  /** TCP (or TLS) connections accepted, to observe keep-alive. */
  connections: number;
  close(): Promise<void>;
}

/** A scripted Admin API stand-in on 127.0.0.1:0, for transport behaviour the Kong double does not cover. */
export async function startFake(handler: FakeHandler, tls?: { key: string; cert: string }): Promise<FakeServer> {
  const sockets = new Set<Socket>();
  const requests: FakeRequest[] = [];
  const listener = (request: http.IncomingMessage, response: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const reply = handler(recorded, requests.length - 1);
      if ('stall' in reply) return;
      if ('drop' in reply) {
        request.socket.destroy();
        return;
      }
      if ('truncate' in reply) {
        response.writeHead(200, { 'content-length': String(reply.truncate.length * 2) });
        response.write(reply.truncate, () => request.socket.destroy());
        return;
      }
      const text = reply.raw ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
      response.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...reply.headers });
      response.end(text);
    });
  };
  const server = tls ? https.createServer(tls, listener) : http.createServer(listener);
  const fake: FakeServer = {
    url: '',
    port: 0,
    requests,
    connections: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
  server.on(tls ? 'secureConnection' : 'connection', () => {
    fake.connections += 1;
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fake.port = (server.address() as AddressInfo).port;
  fake.url = `${tls ? 'https' : 'http'}://${tls ? 'localhost' : '127.0.0.1'}:${fake.port}`;
  return fake;
}

/** Replies in order, repeating the last one. */
export function script(...replies: FakeReply[]): FakeHandler {
  return (_request, index) => replies[Math.min(index, replies.length - 1)]!;
}
