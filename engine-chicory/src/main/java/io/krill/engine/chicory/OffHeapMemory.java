package io.krill.engine.chicory;

import com.dylibso.chicory.runtime.ConstantEvaluators;
import com.dylibso.chicory.runtime.Instance;
import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.ChicoryException;
import com.dylibso.chicory.wasm.UninstantiableException;
import com.dylibso.chicory.wasm.types.ActiveDataSegment;
import com.dylibso.chicory.wasm.types.DataSegment;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import com.dylibso.chicory.wasm.types.PassiveDataSegment;
import io.krill.os.NativeRegion;
import java.nio.BufferOverflowException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;

/**
 * A guest's linear memory outside the Java heap, as Wasmtime keeps it: Chicory's own memories are
 * heap arrays, so a guest allowed more than the daemon's heap (or a few guests together) would end
 * the daemon with every container in it. The memory's maximum is reserved at once ({@link
 * NativeRegion}: pages cost memory only once touched, and read zero until then), so growing only
 * widens the view, and a new instance's memory needs no zeroing. {@link #release} gives the pages
 * back when the guest is done.
 */
final class OffHeapMemory implements Memory {
  private final MemoryLimits limits;
  private final int maxPages;
  private final NativeRegion region;
  private ByteBuffer buffer;
  private int pages;
  private DataSegment[] segments;

  /** The instance zeroes its memory once, before any write: fresh pages are zero already. */
  private boolean fresh = true;

  private long keptResident;

  OffHeapMemory(MemoryLimits limits) {
    this.limits = limits;
    this.maxPages = Math.min(limits.maximumPages(), RUNTIME_MAX_PAGES);
    this.pages = limits.initialPages();
    this.region = NativeRegion.reserve(Math.max(1L, maxPages) * PAGE_SIZE);
    this.buffer = region.view(pages * PAGE_SIZE);
  }

  /** Hands the touched pages back; the memory reads zeros afterwards. */
  void release() {
    region.release();
  }

  /** Whether a module with these limits gets a memory of this one's size and reach. */
  boolean fits(MemoryLimits other) {
    return other.initialPages() == limits.initialPages()
        && Math.min(other.maximumPages(), RUNTIME_MAX_PAGES) == maxPages
        && other.shared() == limits.shared();
  }

  /**
   * Back to a fresh instance's memory, for the next instance of the same module: its initial size,
   * every byte zero, no data segments. The first {@code keepResident} bytes are zeroed in place
   * (they stay resident, so the next instance touches them without a page fault), the rest of what
   * the instance used is handed back to the kernel.
   *
   * @return the bytes that stay resident
   */
  long reset(long keepResident) {
    long used = sizeInBytes();
    long kept = Math.min(used, keepResident - keepResident % PAGE_SIZE);
    region.zero(0, kept);
    region.release(kept, used - kept);
    pages = limits.initialPages();
    buffer = region.view(sizeInBytes());
    segments = null;
    fresh = true;
    keptResident = kept;
    return kept;
  }

  /** What the last {@link #reset} kept resident. */
  long residentAfterReset() {
    return keptResident;
  }

  private int sizeInBytes() {
    return pages * PAGE_SIZE;
  }

  private RuntimeException outOfBounds(RuntimeException e, int addr, int size) {
    if (e instanceof IndexOutOfBoundsException
        || e instanceof BufferOverflowException
        || e instanceof BufferUnderflowException
        || e instanceof IllegalArgumentException
        || e instanceof NegativeArraySizeException) {
      return new WasmRuntimeException(
          "out of bounds memory access: attempted to access address: "
              + addr
              + " but limit is: "
              + sizeInBytes()
              + " and size: "
              + size);
    }
    return e;
  }

  @Override
  public int pages() {
    return pages;
  }

  @Override
  public int grow(int delta) {
    int before = pages;
    long after = (long) before + delta;
    if (delta < 0 || after > maxPages) {
      return -1;
    }
    pages = (int) after;
    buffer = region.view(sizeInBytes());
    return before;
  }

  @Override
  public int initialPages() {
    return limits.initialPages();
  }

  @Override
  public int maximumPages() {
    return maxPages;
  }

  @Override
  public boolean shared() {
    return limits.shared();
  }

  @Override
  public Object lock(int address) {
    return this;
  }

  @Override
  public int waitOn(int address, int expected, long timeout) {
    throw new WasmRuntimeException("atomic wait on unshared memory");
  }

  @Override
  public int waitOn(int address, long expected, long timeout) {
    throw new WasmRuntimeException("atomic wait on unshared memory");
  }

  @Override
  public int notify(int address, int maxThreads) {
    return 0;
  }

  @Override
  public void initialize(Instance instance, DataSegment[] dataSegments) {
    this.segments = dataSegments;
    if (dataSegments == null) {
      return;
    }
    for (DataSegment s : dataSegments) {
      if (s instanceof ActiveDataSegment a) {
        byte[] data = a.data();
        long offset =
            Integer.toUnsignedLong(
                (int) ConstantEvaluators.computeConstantValue(instance, a.offsetInstructions())[0]);
        if (offset + data.length > sizeInBytes()) {
          throw new UninstantiableException(
              "out of bounds memory access: data segment at "
                  + offset
                  + " of "
                  + data.length
                  + " bytes, memory of "
                  + sizeInBytes());
        }
        write((int) offset, data, 0, data.length);
      } else if (!(s instanceof PassiveDataSegment)) {
        throw new ChicoryException("data segment should be active or passive: " + s);
      }
    }
  }

  @Override
  public void initPassiveSegment(int segmentId, int dest, int offset, int size) {
    write(dest, segments[segmentId].data(), offset, size);
  }

  @Override
  public void drop(int segment) {
    segments[segment] = PassiveDataSegment.EMPTY;
  }

  @Override
  public void write(int addr, byte[] data, int offset, int size) {
    try {
      buffer.put(addr, data, offset, size);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, size);
    }
  }

  @Override
  public byte read(int addr) {
    try {
      return buffer.get(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 1);
    }
  }

  @Override
  public byte[] readBytes(int addr, int len) {
    try {
      byte[] out = new byte[len];
      buffer.get(addr, out);
      return out;
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, len);
    }
  }

  @Override
  public void writeI32(int addr, int data) {
    try {
      buffer.putInt(addr, data);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 4);
    }
  }

  @Override
  public int readInt(int addr) {
    try {
      return buffer.getInt(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 4);
    }
  }

  @Override
  public void writeLong(int addr, long data) {
    try {
      buffer.putLong(addr, data);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 8);
    }
  }

  @Override
  public long readLong(int addr) {
    try {
      return buffer.getLong(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 8);
    }
  }

  @Override
  public void writeShort(int addr, short data) {
    try {
      buffer.putShort(addr, data);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 2);
    }
  }

  @Override
  public short readShort(int addr) {
    try {
      return buffer.getShort(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 2);
    }
  }

  @Override
  public long readU16(int addr) {
    try {
      return buffer.getShort(addr) & 0xffff;
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 2);
    }
  }

  @Override
  public void writeByte(int addr, byte data) {
    try {
      buffer.put(addr, data);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 1);
    }
  }

  @Override
  public void writeF32(int addr, float data) {
    try {
      buffer.putFloat(addr, data);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 4);
    }
  }

  @Override
  public long readF32(int addr) {
    try {
      return buffer.getInt(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 4);
    }
  }

  @Override
  public float readFloat(int addr) {
    try {
      return buffer.getFloat(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 4);
    }
  }

  @Override
  public void writeF64(int addr, double data) {
    try {
      buffer.putDouble(addr, data);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 8);
    }
  }

  @Override
  public double readDouble(int addr) {
    try {
      return buffer.getDouble(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 8);
    }
  }

  @Override
  public long readF64(int addr) {
    try {
      return buffer.getLong(addr);
    } catch (RuntimeException e) {
      throw outOfBounds(e, addr, 8);
    }
  }

  @Override
  public void zero() {
    if (fresh) {
      fresh = false;
    } else {
      fill((byte) 0, 0, sizeInBytes());
    }
  }

  @Override
  public void fill(byte value, int fromIndex, int toIndex) {
    int len = toIndex - fromIndex;
    if (fromIndex < 0 || len < 0 || toIndex > sizeInBytes()) {
      throw outOfBounds(new IndexOutOfBoundsException(), fromIndex, len);
    }
    byte[] chunk = new byte[Math.min(len, 1 << 16)];
    if (value != 0) {
      java.util.Arrays.fill(chunk, value);
    }
    for (int at = fromIndex; at < toIndex; at += chunk.length) {
      buffer.put(at, chunk, 0, Math.min(chunk.length, toIndex - at));
    }
  }

  @Override
  public void copy(int dest, int src, int size) {
    if (dest < 0
        || src < 0
        || size < 0
        || (long) dest + size > sizeInBytes()
        || (long) src + size > sizeInBytes()) {
      throw outOfBounds(new IndexOutOfBoundsException(), Math.max(dest, src), size);
    }
    // A bulk put from this buffer into itself copies as if through an intermediate array.
    buffer.put(dest, buffer, src, size);
  }
}
