package dev.afd.gateway;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * A client that writes raw bytes to the gateway and reads what comes back, for tests of HTTP framing and of clients
 * that misbehave (slow, partial, pipelined, not reading), and for latency measurements: it adds no threads and no hops
 * of its own, so what it measures is the server. Every read has a timeout, so a test never hangs.
 */
final class RawSocket implements AutoCloseable {
    /** A response: status code, headers (lower-case names) and body. */
    record Reply(int status, Map<String, String> headers, String body) {}

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    /** @param receiveBuffer the socket's receive buffer in bytes, or 0 for the system default */
    RawSocket(int port, int receiveBuffer) throws IOException {
        socket = new Socket();
        if (receiveBuffer > 0) {
            socket.setReceiveBufferSize(receiveBuffer);
        }
        socket.setTcpNoDelay(true);
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        socket.setSoTimeout(10_000);
        out = socket.getOutputStream();
        in = new BufferedInputStream(socket.getInputStream());
    }

    RawSocket(int port) throws IOException {
        this(port, 0);
    }

    RawSocket send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.UTF_8));
    }

    RawSocket send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** POSTs {@code json} on this keep-alive connection and reads the answer. */
    Reply post(String path, byte[] json) throws IOException {
        send(("POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
                + json.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        send(json);
        return read();
    }

    /** Reads one response: by Content-Length, by chunks, or (neither) until the server closes. */
    Reply read() throws IOException {
        String statusLine = line();
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h; !(h = line()).isEmpty(); ) {
            int colon = h.indexOf(':');
            headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        if (headers.containsKey("content-length")) {
            body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
        } else if (headers.getOrDefault("transfer-encoding", "").contains("chunked")) {
            for (int size; (size = Integer.parseInt(line().trim(), 16)) > 0; ) {
                body.write(in.readNBytes(size));
                line();
            }
            line();
        } else if (status != 100) {
            body.write(in.readAllBytes());
        }
        return new Reply(status, headers, body.toString(StandardCharsets.UTF_8));
    }

    /** Whether the server closes the connection within {@code limit} (bytes that arrive meanwhile are dropped). */
    boolean closedWithin(Duration limit) throws IOException {
        long end = System.nanoTime() + limit.toNanos();
        byte[] sink = new byte[1 << 16];
        while (System.nanoTime() < end) {
            socket.setSoTimeout((int) Math.max(1, Math.min(500, (end - System.nanoTime()) / 1_000_000)));
            try {
                if (in.read(sink) < 0) {
                    return true;
                }
            } catch (SocketTimeoutException e) {
                // not yet
            } catch (IOException e) {
                return true; // reset by the server
            }
        }
        return false;
    }

    private String line() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b; (b = in.read()) != '\n'; ) {
            if (b < 0) {
                throw new IOException("connection closed after '" + sb + "'");
            }
            if (b != '\r') {
                sb.append((char) b);
            }
        }
        return sb.toString();
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
