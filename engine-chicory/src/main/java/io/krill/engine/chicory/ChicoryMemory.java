package io.krill.engine.chicory;

import com.dylibso.chicory.runtime.Memory;
import io.krill.wasi.GuestMemory;

/**
 * A Chicory linear memory as krill's WASI sees it. Bounds are checked here, against the memory's
 * size at the call, so that an access outside it is the {@link IndexOutOfBoundsException} the WASI
 * layer answers with EFAULT rather than a Chicory trap.
 */
final class ChicoryMemory implements GuestMemory {
  private final Memory memory;

  ChicoryMemory(Memory memory) {
    this.memory = memory;
  }

  private int at(int addr, int len) {
    long a = Integer.toUnsignedLong(addr);
    if (memory == null || len < 0 || a + len > size()) {
      throw new IndexOutOfBoundsException("guest address " + a + "+" + len);
    }
    return (int) a;
  }

  @Override
  public long size() {
    return memory == null ? 0 : (long) memory.pages() * Memory.PAGE_SIZE;
  }

  @Override
  public byte readByte(int addr) {
    return memory.read(at(addr, 1));
  }

  @Override
  public void writeByte(int addr, byte value) {
    memory.writeByte(at(addr, 1), value);
  }

  @Override
  public short readShort(int addr) {
    return memory.readShort(at(addr, 2));
  }

  @Override
  public void writeShort(int addr, short value) {
    memory.writeShort(at(addr, 2), value);
  }

  @Override
  public int readInt(int addr) {
    return memory.readInt(at(addr, 4));
  }

  @Override
  public void writeInt(int addr, int value) {
    memory.writeI32(at(addr, 4), value);
  }

  @Override
  public long readLong(int addr) {
    return memory.readLong(at(addr, 8));
  }

  @Override
  public void writeLong(int addr, long value) {
    memory.writeLong(at(addr, 8), value);
  }

  @Override
  public void read(int addr, byte[] dst, int offset, int length) {
    System.arraycopy(memory.readBytes(at(addr, length), length), 0, dst, offset, length);
  }

  @Override
  public void write(int addr, byte[] src, int offset, int length) {
    memory.write(at(addr, length), src, offset, length);
  }
}
