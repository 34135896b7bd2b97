package io.krill.wasi;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;

/** The {@code errno} values of the preview1 witx (snapshot 0 uses the same numbers). */
public final class Errno {
  public static final int SUCCESS = 0;
  public static final int TOOBIG = 1;
  public static final int ACCES = 2;
  public static final int AGAIN = 6;
  public static final int BADF = 8;
  public static final int CONNABORTED = 13;
  public static final int CONNRESET = 15;
  public static final int EXIST = 20;
  public static final int FAULT = 21;
  public static final int FBIG = 22;
  public static final int ILSEQ = 25;
  public static final int INTR = 27;
  public static final int INVAL = 28;
  public static final int IO = 29;
  public static final int ISDIR = 31;
  public static final int LOOP = 32;
  public static final int MFILE = 33;
  public static final int NAMETOOLONG = 37;
  public static final int NOENT = 44;
  public static final int NOSPC = 51;
  public static final int NOSYS = 52;
  public static final int NOTCONN = 53;
  public static final int NOTDIR = 54;
  public static final int NOTEMPTY = 55;
  public static final int NOTSOCK = 57;
  public static final int NOTSUP = 58;
  public static final int OVERFLOW = 61;
  public static final int PERM = 63;
  public static final int PIPE = 64;
  public static final int RANGE = 68;
  public static final int ROFS = 69;
  public static final int SPIPE = 70;
  public static final int XDEV = 75;
  public static final int NOTCAPABLE = 76;

  private Errno() {}

  /** The errno of a failed host file operation. */
  static int of(IOException e) {
    if (e instanceof NoSuchFileException) {
      return NOENT;
    }
    if (e instanceof FileAlreadyExistsException) {
      return EXIST;
    }
    if (e instanceof DirectoryNotEmptyException) {
      return NOTEMPTY;
    }
    if (e instanceof NotDirectoryException) {
      return NOTDIR;
    }
    if (e instanceof AccessDeniedException) {
      return ACCES;
    }
    if (e instanceof FileSystemLoopException) {
      return LOOP;
    }
    if (e instanceof NotLinkException) {
      return INVAL;
    }
    String reason = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
    if (reason == null) {
      return IO;
    }
    if (reason.contains("Is a directory")) {
      return ISDIR;
    }
    if (reason.contains("Not a directory")) {
      return NOTDIR;
    }
    if (reason.contains("symbolic links")) {
      return LOOP;
    }
    if (reason.contains("Read-only file system")) {
      return ROFS;
    }
    if (reason.contains("Directory not empty")) {
      return NOTEMPTY;
    }
    if (reason.contains("No space left")) {
      return NOSPC;
    }
    if (reason.contains("Operation not permitted")) {
      return PERM;
    }
    if (reason.contains("Permission denied")) {
      return ACCES;
    }
    if (reason.contains("Invalid argument")) {
      return INVAL;
    }
    if (reason.contains("File exists")) {
      return EXIST;
    }
    if (reason.contains("No such file")) {
      return NOENT;
    }
    if (reason.contains("cross-device") || reason.contains("Cross-device")) {
      return XDEV;
    }
    if (reason.contains("not connected")) {
      return NOTCONN;
    }
    if (reason.contains("Connection reset")) {
      return CONNRESET;
    }
    if (reason.contains("Broken pipe")) {
      return PIPE;
    }
    if (reason.contains("File too large")) {
      return FBIG;
    }
    return IO;
  }
}
