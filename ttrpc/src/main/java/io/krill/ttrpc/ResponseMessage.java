package io.krill.ttrpc;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * The {@code ttrpc.Response} envelope: {@code google.rpc.Status status=1, bytes payload=2}. Status
 * details (google.protobuf.Any) are skipped on decode and never sent.
 */
record ResponseMessage(int code, String message, byte[] payload) {
  private static final int STATUS = 1;
  private static final int PAYLOAD = 2;
  private static final int STATUS_CODE = 1;
  private static final int STATUS_MESSAGE = 2;

  ResponseMessage {
    message = message == null ? "" : message;
    payload = payload == null ? new byte[0] : payload;
  }

  static ResponseMessage ok(byte[] payload) {
    return new ResponseMessage(0, "", payload);
  }

  static ResponseMessage error(Code code, String message) {
    return new ResponseMessage(code.value(), message, null);
  }

  boolean isOk() {
    return code == 0;
  }

  byte[] encode() {
    // An OK reply carries no status at all, exactly like containerd's own replies.
    int statusSize = 0;
    if (code != 0) {
      statusSize = CodedOutputStream.computeInt32Size(STATUS_CODE, code);
      if (!message.isEmpty()) {
        statusSize += CodedOutputStream.computeStringSize(STATUS_MESSAGE, message);
      }
    }
    int size = 0;
    if (code != 0) {
      size +=
          CodedOutputStream.computeTagSize(STATUS)
              + CodedOutputStream.computeUInt32SizeNoTag(statusSize)
              + statusSize;
    }
    if (payload.length > 0) {
      size += CodedOutputStream.computeByteArraySize(PAYLOAD, payload);
    }
    byte[] out = new byte[size];
    CodedOutputStream cos = CodedOutputStream.newInstance(out);
    try {
      if (code != 0) {
        cos.writeTag(STATUS, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        cos.writeUInt32NoTag(statusSize);
        cos.writeInt32(STATUS_CODE, code);
        if (!message.isEmpty()) {
          cos.writeString(STATUS_MESSAGE, message);
        }
      }
      if (payload.length > 0) {
        cos.writeByteArray(PAYLOAD, payload);
      }
      cos.checkNoSpaceLeft();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  static ResponseMessage decode(byte[] data) throws InvalidProtocolBufferException {
    CodedInputStream in = CodedInputStream.newInstance(data);
    int code = 0;
    String message = "";
    byte[] payload = new byte[0];
    try {
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          break;
        }
        if (tag == (STATUS << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED)) {
          int limit = in.pushLimit(in.readRawVarint32());
          // A repeated status field merges in protobuf; last scalar wins.
          while (true) {
            int st = in.readTag();
            if (st == 0) {
              break;
            }
            switch (st) {
              case STATUS_CODE << 3 | WireFormat.WIRETYPE_VARINT -> code = in.readInt32();
              case STATUS_MESSAGE << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED ->
                  message = in.readString();
              default -> RequestMessage.skip(in, st);
            }
          }
          in.popLimit(limit);
        } else if (tag == (PAYLOAD << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED)) {
          payload = in.readByteArray();
        } else {
          RequestMessage.skip(in, tag);
        }
      }
    } catch (InvalidProtocolBufferException e) {
      throw e;
    } catch (IOException e) {
      throw new InvalidProtocolBufferException(e);
    }
    return new ResponseMessage(code, message, payload);
  }
}
