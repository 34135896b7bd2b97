package io.krill.wasi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A {@link GuestMemory} over a {@link ByteBuffer}: a heap buffer in tests, an engine's (direct)
 * view of the linear memory otherwise. Addresses are unsigned; the buffer's position is never used.
 */
public final class ByteBufferMemory implements GuestMemory {
  private final ByteBuffer buf;

  public ByteBufferMemory(ByteBuffer buffer) {
    this.buf = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A zeroed heap memory of {@code bytes}. */
  public static ByteBufferMemory allocate(int bytes) {
    return new ByteBufferMemory(ByteBuffer.allocate(bytes));
  }

  private int at(int addr, int len) {
    long a = Integer.toUnsignedLong(addr);
    if (a + len > buf.capacity()) {
      throw new IndexOutOfBoundsException("guest address " + a + "+" + len);
    }
    return (int) a;
  }

  @Override
  public long size() {
    return buf.capacity();
  }

  @Override
  public byte readByte(int addr) {
    return buf.get(at(addr, 1));
  }

  @Override
  public void writeByte(int addr, byte value) {
    buf.put(at(addr, 1), value);
  }

  @Override
  public short readShort(int addr) {
    return buf.getShort(at(addr, 2));
  }

  @Override
  public void writeShort(int addr, short value) {
    buf.putShort(at(addr, 2), value);
  }

  @Override
  public int readInt(int addr) {
    return buf.getInt(at(addr, 4));
  }

  @Override
  public void writeInt(int addr, int value) {
    buf.putInt(at(addr, 4), value);
  }

  @Override
  public long readLong(int addr) {
    return buf.getLong(at(addr, 8));
  }

  @Override
  public void writeLong(int addr, long value) {
    buf.putLong(at(addr, 8), value);
  }

  @Override
  public void read(int addr, byte[] dst, int offset, int length) {
    buf.get(at(addr, length), dst, offset, length);
  }

  @Override
  public void write(int addr, byte[] src, int offset, int length) {
    buf.put(at(addr, length), src, offset, length);
  }
}
