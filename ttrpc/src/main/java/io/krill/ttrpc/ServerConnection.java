package io.krill.ttrpc;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/** One accepted client: a reader thread that decodes requests and hands them to handlers. */
final class ServerConnection implements FrameDecoder.Sink {
  private static final System.Logger LOG = System.getLogger(ServerConnection.class.getName());
  private static final int READ_BUFFER = 64 * 1024;

  private final TtrpcServer server;
  private final SocketChannel channel;
  private final int id;
  private final Object writeLock = new Object();
  private final AtomicBoolean closed = new AtomicBoolean();

  /** Only touched by the reader thread. Stream ids are uint32, hence unsigned comparisons. */
  private int lastStreamId;

  ServerConnection(TtrpcServer server, SocketChannel channel, int id) {
    this.server = server;
    this.channel = channel;
    this.id = id;
  }

  void start() {
    Thread t = new Thread(this::readLoop, "ttrpc-conn-" + id);
    t.setDaemon(true);
    t.start();
  }

  void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      channel.close();
    } catch (IOException e) {
      LOG.log(System.Logger.Level.DEBUG, "closing ttrpc connection " + id, e);
    }
    server.connectionClosed(this);
  }

  private void readLoop() {
    ByteBuffer buf = ByteBuffer.allocate(READ_BUFFER);
    FrameDecoder decoder = new FrameDecoder();
    try {
      while (!closed.get()) {
        if (channel.read(buf) < 0) {
          if (decoder.midFrame()) {
            LOG.log(System.Logger.Level.DEBUG, "ttrpc connection " + id + ": EOF mid-frame");
          }
          break;
        }
        buf.flip();
        decoder.feed(buf, this);
        buf.clear();
      }
    } catch (ProtocolException e) {
      LOG.log(System.Logger.Level.WARNING, "ttrpc connection " + id + ": " + e.getMessage());
    } catch (IOException e) {
      if (!closed.get()) {
        LOG.log(System.Logger.Level.DEBUG, "ttrpc connection " + id + " read failed", e);
      }
    } finally {
      close();
    }
  }

  @Override
  public void onOversize(int streamId, byte type, long length) {
    // The data was skipped, so the stream stays in sync and only this call fails.
    sendStatus(streamId, Code.RESOURCE_EXHAUSTED, Frame.oversizeMessage(length));
  }

  @Override
  public void onFrame(Frame frame) {
    if (frame.type() != Frame.TYPE_REQUEST) {
      // Data frames belong to streaming RPCs, which the containerd task API never uses;
      // anything else from a client is meaningless. Neither is worth dropping the peer.
      LOG.log(
          System.Logger.Level.DEBUG,
          "ttrpc connection "
              + id
              + ": ignoring frame type "
              + frame.type()
              + " on stream "
              + Integer.toUnsignedString(frame.streamId()));
      return;
    }
    int streamId = frame.streamId();
    if ((streamId & 1) == 0) {
      sendStatus(
          streamId, Code.INVALID_ARGUMENT, "StreamID must be odd for client initiated streams");
      return;
    }
    if (Integer.compareUnsigned(streamId, lastStreamId) <= 0) {
      sendStatus(streamId, Code.INVALID_ARGUMENT, "StreamID cannot be re-used and must increment");
      return;
    }
    lastStreamId = streamId;
    RequestMessage req;
    try {
      req = RequestMessage.decode(frame.data());
    } catch (InvalidProtocolBufferException e) {
      sendStatus(streamId, Code.INVALID_ARGUMENT, "unmarshal request error: " + e.getMessage());
      return;
    }
    Handler handler;
    try {
      handler = server.lookup(req.service(), req.method());
    } catch (TtrpcException e) {
      sendStatus(streamId, e.code(), e.getMessage());
      return;
    }
    RequestContext ctx =
        new RequestContext(req.service(), req.method(), req.timeoutNanos(), req.metadata());
    try {
      server.handlerExecutor().execute(() -> invoke(streamId, handler, ctx, req.payload()));
    } catch (RejectedExecutionException e) {
      sendStatus(streamId, Code.UNAVAILABLE, "server is shutting down");
    }
  }

  private void invoke(int streamId, Handler handler, RequestContext ctx, byte[] payload) {
    CompletionStage<byte[]> stage;
    try {
      stage = handler.handle(ctx, payload);
    } catch (Throwable t) {
      reply(streamId, null, t);
      if (t instanceof VirtualMachineError vme) {
        throw vme;
      }
      return;
    }
    if (stage == null) {
      reply(streamId, null, null);
      return;
    }
    stage.whenComplete((result, error) -> reply(streamId, result, error));
  }

  private void reply(int streamId, byte[] result, Throwable error) {
    ResponseMessage resp;
    if (error == null) {
      resp = ResponseMessage.ok(result);
    } else {
      Throwable cause = unwrap(error);
      if (cause instanceof TtrpcException te && te.code() != Code.OK) {
        resp = ResponseMessage.error(te.code(), te.getMessage());
      } else {
        String msg = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getName();
        resp = ResponseMessage.error(Code.UNKNOWN, msg);
      }
    }
    byte[] data = resp.encode();
    if (data.length > Frame.MAX_DATA) {
      // The client would discard it anyway; tell it why instead.
      data =
          ResponseMessage.error(Code.RESOURCE_EXHAUSTED, Frame.oversizeMessage(data.length))
              .encode();
    }
    send(Frame.of(streamId, Frame.TYPE_RESPONSE, data));
  }

  private void sendStatus(int streamId, Code code, String message) {
    send(Frame.of(streamId, Frame.TYPE_RESPONSE, ResponseMessage.error(code, message).encode()));
  }

  private void send(Frame frame) {
    synchronized (writeLock) {
      if (closed.get()) {
        return;
      }
      try {
        frame.writeTo(channel);
      } catch (IOException e) {
        // A half-written frame leaves the stream unusable, so drop the connection.
        LOG.log(System.Logger.Level.DEBUG, "ttrpc connection " + id + " write failed", e);
        close();
      }
    }
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
