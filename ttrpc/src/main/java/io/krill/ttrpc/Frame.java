package io.krill.ttrpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.WritableByteChannel;

/** One ttrpc frame: a 10-byte big-endian header followed by {@code data}. */
record Frame(int streamId, byte type, byte flags, byte[] data) {
  static final int HEADER_SIZE = 10;

  /** Largest data length either side accepts; fixed by the Go implementation containerd uses. */
  static final int MAX_DATA = 4 << 20;

  static final byte TYPE_REQUEST = 1;
  static final byte TYPE_RESPONSE = 2;
  static final byte TYPE_DATA = 3;

  static Frame of(int streamId, byte type, byte[] data) {
    return new Frame(streamId, type, (byte) 0, data);
  }

  static String oversizeMessage(long length) {
    // Wording matches the Go implementation so logs look the same on both sides.
    return "message length " + length + " exceed maximum message size of " + MAX_DATA;
  }

  ByteBuffer header() {
    ByteBuffer h = ByteBuffer.allocate(HEADER_SIZE);
    h.putInt(data.length).putInt(streamId).put(type).put(flags).flip();
    return h;
  }

  /**
   * Writes header and data completely. Not synchronized: concurrent writers must hold one lock per
   * channel, or frames from different streams would interleave.
   */
  void writeTo(WritableByteChannel ch) throws IOException {
    if (data.length > MAX_DATA) {
      throw new IOException(oversizeMessage(data.length));
    }
    ByteBuffer h = header();
    ByteBuffer d = ByteBuffer.wrap(data);
    if (ch instanceof GatheringByteChannel g) {
      ByteBuffer[] both = {h, d};
      while (d.hasRemaining() || h.hasRemaining()) {
        g.write(both);
      }
    } else {
      while (h.hasRemaining()) {
        ch.write(h);
      }
      while (d.hasRemaining()) {
        ch.write(d);
      }
    }
  }

  /** Encodes to a standalone byte array; handy for tests and raw peers. */
  byte[] toBytes() {
    ByteBuffer out = ByteBuffer.allocate(HEADER_SIZE + data.length);
    out.put(header()).put(data);
    return out.array();
  }
}
