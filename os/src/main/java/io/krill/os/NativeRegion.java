package io.krill.os;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * An address range reserved outside the Java heap for a guest's linear memory: anonymous, private,
 * without swap reservation, so a page costs memory only once touched, and every page reads zero
 * until written. {@link #view} gives the first bytes of it as a little-endian direct buffer (a
 * memory that grows takes a longer view of the same pages: nothing is copied). {@link #release}
 * hands the pages back to the kernel at once; the address range itself goes when the region is
 * unreachable, so a stray access after a release reads zeros and can never touch unmapped memory.
 */
public final class NativeRegion {
  private static final int PROT_READ = 1;
  private static final int PROT_WRITE = 2;
  private static final int MAP_PRIVATE = 2;
  private static final int MAP_ANONYMOUS = 0x20;
  private static final int MAP_NORESERVE = 0x4000;
  private static final int MADV_DONTNEED = 4;
  private static final Cleaner CLEANER = Cleaner.create();

  private final Pointer base;
  private final long size;

  private NativeRegion(Pointer base, long size) {
    this.base = base;
    this.size = size;
    long address = Pointer.nativeValue(base);
    CLEANER.register(this, () -> LibC.INSTANCE.munmap(new Pointer(address), size));
  }

  /**
   * Reserves {@code size} bytes (at most 2 GiB, a buffer's reach).
   *
   * @throws OutOfMemoryError if the kernel refuses the range (its errno in the message)
   */
  public static NativeRegion reserve(long size) {
    if (size <= 0 || size > Integer.MAX_VALUE + 1L) {
      throw new IllegalArgumentException("a region of " + size + " bytes");
    }
    Pointer p =
        LibC.INSTANCE.mmap(
            null, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == null || Pointer.nativeValue(p) == -1L) {
      throw new OutOfMemoryError(
          "cannot reserve "
              + (size >> 20)
              + " MiB of address space: "
              + Native.getLastError()
              + " (mmap)");
    }
    return new NativeRegion(p, size);
  }

  public long size() {
    return size;
  }

  /** The region's first {@code length} bytes, little-endian, indexed from 0. */
  public ByteBuffer view(int length) {
    if (length < 0 || length > size) {
      throw new IllegalArgumentException(length + " bytes of a region of " + size);
    }
    return base.getByteBuffer(0, length).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Gives the touched pages back to the kernel; the range reads zeros from then on. */
  public void release() {
    LibC.INSTANCE.madvise(base, size, MADV_DONTNEED);
  }

  /**
   * Gives back the pages of {@code [from, from + length)} (both multiples of the kernel's page
   * size); they read zeros from then on, and the pages before {@code from} stay as they are.
   */
  public void release(long from, long length) {
    check(from, length);
    if (length > 0) {
      LibC.INSTANCE.madvise(base.share(from), length, MADV_DONTNEED);
    }
  }

  /**
   * Writes zeros over {@code [from, from + length)} in place: the pages stay resident, so writing
   * them again costs no page fault (cheaper than {@link #release} for what is touched again soon).
   */
  public void zero(long from, long length) {
    check(from, length);
    if (length > 0) {
      base.setMemory(from, length, (byte) 0);
    }
  }

  private void check(long from, long length) {
    if (from < 0 || length < 0 || from + length > size) {
      throw new IllegalArgumentException(
          "bytes " + from + ".." + (from + length) + " of a region of " + size);
    }
  }
}
