package io.krill.ttrpc;

import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * Incremental frame parser: bytes may arrive split at any position or several frames at once, so
 * all partial state lives here rather than in blocking reads. Not thread-safe; one per connection
 * reader.
 */
final class FrameDecoder {
  /**
   * Oversize frames are skipped so the peer gets a proper status, but a length this large is far
   * more likely garbage (e.g. an HTTP request on the socket) than a real message, and waiting to
   * skip gigabytes would just wedge the connection.
   */
  static final long MAX_DISCARD = 16L * Frame.MAX_DATA;

  /**
   * A body's buffer starts at most this large and doubles as its bytes arrive: a header alone
   * (twelve bytes declaring 4 MiB) must not cost 4 MiB, or a thousand idle peers that each sent one
   * would exhaust the daemon's heap.
   */
  static final int INITIAL_BODY = 64 * 1024;

  interface Sink {
    void onFrame(Frame frame);

    /** Called once the oversize frame's data has been skipped entirely. */
    void onOversize(int streamId, byte type, long length);
  }

  private enum State {
    HEADER,
    BODY,
    DISCARD
  }

  private final ByteBuffer header = ByteBuffer.allocate(Frame.HEADER_SIZE);
  private State state = State.HEADER;
  private int streamId;
  private byte type;
  private byte flags;
  private long length;
  private byte[] body;
  private int bodyPos;
  private long discardLeft;

  /** Consumes all of {@code in}, reporting each completed frame to {@code sink}. */
  void feed(ByteBuffer in, Sink sink) throws ProtocolException {
    while (in.hasRemaining()) {
      switch (state) {
        case HEADER -> readHeader(in, sink);
        case BODY -> readBody(in, sink);
        case DISCARD -> discard(in, sink);
        default -> throw new IllegalStateException();
      }
    }
  }

  /** True if some bytes of an unfinished frame have been consumed; EOF now is a truncation. */
  boolean midFrame() {
    return state != State.HEADER || header.position() > 0;
  }

  private void readHeader(ByteBuffer in, Sink sink) throws ProtocolException {
    copy(in, header);
    if (header.hasRemaining()) {
      return;
    }
    header.flip();
    length = Integer.toUnsignedLong(header.getInt());
    streamId = header.getInt();
    type = header.get();
    flags = header.get();
    header.clear();
    if (length > Frame.MAX_DATA) {
      if (length > MAX_DISCARD) {
        throw new ProtocolException(
            "frame length "
                + length
                + " on stream "
                + Integer.toUnsignedString(streamId)
                + " is not plausible");
      }
      discardLeft = length;
      state = State.DISCARD;
      return;
    }
    body = new byte[(int) Math.min(length, INITIAL_BODY)];
    bodyPos = 0;
    state = State.BODY;
    // An empty frame is complete already; waiting for more input would delay it forever.
    if (length == 0) {
      finishBody(sink);
    }
  }

  private void readBody(ByteBuffer in, Sink sink) {
    if (bodyPos == body.length) {
      body = Arrays.copyOf(body, (int) Math.min(length, 2L * body.length));
    }
    int n = Math.min(in.remaining(), body.length - bodyPos);
    in.get(body, bodyPos, n);
    bodyPos += n;
    if (bodyPos == length) {
      finishBody(sink);
    }
  }

  /** Bytes held for the frame being read; at most twice what has arrived of it, or 64 KiB. */
  int bufferedCapacity() {
    return body == null ? 0 : body.length;
  }

  private void finishBody(Sink sink) {
    Frame f = new Frame(streamId, type, flags, body);
    body = null;
    state = State.HEADER;
    sink.onFrame(f);
  }

  private void discard(ByteBuffer in, Sink sink) {
    int n = (int) Math.min(in.remaining(), discardLeft);
    in.position(in.position() + n);
    discardLeft -= n;
    if (discardLeft == 0) {
      state = State.HEADER;
      sink.onOversize(streamId, type, length);
    }
  }

  private static void copy(ByteBuffer from, ByteBuffer to) {
    int n = Math.min(from.remaining(), to.remaining());
    ByteBuffer slice = from.slice(from.position(), n);
    to.put(slice);
    from.position(from.position() + n);
  }
}
