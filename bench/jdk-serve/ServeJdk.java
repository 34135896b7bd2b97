/*
 * serve.c's loop in plain Java on the JDK's socket channels, making the host calls krill's WASI layer makes for a
 * listening guest, with no wasm: what a JVM's own socket calls cost, beside the native server and the guest in the
 * HTTP benchmark. One connection at a time: accept (a non-blocking listener, waiting in a selector when no
 * connection is queued), blocking reads into a direct buffer until the request's blank line, the same answer with
 * Connection: close, shutdown for writing, close.
 *
 *   javac -d DIR ServeJdk.java && java -cp DIR ServeJdk PORT
 */
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

public final class ServeJdk {
  private static final byte[] RESPONSE =
      ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"
              + "hello\n")
          .getBytes(StandardCharsets.US_ASCII);

  private final ServerSocketChannel listener;
  private final Selector selector;
  private final ByteBuffer in = ByteBuffer.allocateDirect(1 << 16);
  private final ByteBuffer out = ByteBuffer.allocateDirect(RESPONSE.length);

  private ServeJdk(int port) throws IOException {
    listener = ServerSocketChannel.open();
    listener.bind(new InetSocketAddress(port), 1024);
    listener.configureBlocking(false);
    selector = Selector.open();
  }

  public static void main(String[] args) throws IOException {
    ServeJdk server = new ServeJdk(args.length > 0 ? Integer.parseInt(args[0]) : 8080);
    while (true) {
      SocketChannel c = server.accept();
      try (c) {
        server.answer(c);
      } catch (IOException e) {
        // the client went away; take the next
      }
    }
  }

  private SocketChannel accept() throws IOException {
    while (true) {
      SocketChannel c = listener.accept();
      if (c != null) {
        return c;
      }
      SelectionKey k = listener.register(selector, SelectionKey.OP_ACCEPT);
      selector.select();
      k.cancel();
      selector.selectNow();
      selector.selectedKeys().clear();
    }
  }

  private void answer(SocketChannel c) throws IOException {
    in.clear();
    while (in.hasRemaining() && c.read(in) > 0 && !requestEnds()) {
      // read on until the blank line
    }
    if (in.position() > 0) {
      out.clear();
      out.put(RESPONSE).flip();
      while (out.hasRemaining()) {
        c.write(out);
      }
    }
    c.shutdownOutput();
  }

  private boolean requestEnds() {
    for (int i = 0; i + 4 <= in.position(); i++) {
      if (in.get(i) == '\r' && in.get(i + 1) == '\n' && in.get(i + 2) == '\r' && in.get(i + 3) == '\n') {
        return true;
      }
    }
    return false;
  }
}
