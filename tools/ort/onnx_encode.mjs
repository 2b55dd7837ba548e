// onnx_encode.mjs: a minimal hand-written protobuf encoder for the subset of
// onnx.proto that single-node test models need. No dependencies.
//
// Field numbers (checked against onnx.proto as generated into sonos/tract
// onnx/src/prost/onnx.rs):
//   ModelProto:         ir_version=1 (int64), graph=7, opset_import=8
//   OperatorSetIdProto: domain=1, version=2 (int64)
//   GraphProto:         node=1, name=2, initializer=5, input=11, output=12
//   NodeProto:          input=1, output=2, name=3, op_type=4, attribute=5, domain=7
//   AttributeProto:     name=1, i=3 (int64), type=20 (INT=2)
//   TensorProto:        dims=1 (int64), data_type=2, name=8, raw_data=9
//   ValueInfoProto:     name=1, type=2
//   TypeProto:          tensor_type=1;  TypeProto.Tensor: elem_type=1, shape=2
//   TensorShapeProto:   dim=1;  Dimension: dim_value=1 (int64), dim_param=2
//
// Messages are built bottom-up as Uint8Arrays and embedded as length-delimited
// fields. Repeated scalars (dims) are written unpacked, which every protobuf
// parser accepts for proto2 fields.

/** ONNX TensorProto.DataType values used here. */
export const DataType = Object.freeze({
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  FLOAT16: 10,
  BFLOAT16: 16,
});

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** Encodes a non-negative or negative integer (int64 semantics) as a varint. */
function varint(value) {
  let v = BigInt.asUintN(64, BigInt(value));
  const out = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Builds one protobuf message from fields appended in order. */
class Message {
  constructor() {
    this.parts = [];
  }
  varintField(field, value) {
    this.parts.push(Uint8Array.from([...varint((field << 3) | WIRE_VARINT), ...varint(value)]));
    return this;
  }
  bytesField(field, bytes) {
    this.parts.push(Uint8Array.from(varint((field << 3) | WIRE_LEN)));
    this.parts.push(Uint8Array.from(varint(bytes.length)));
    this.parts.push(bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes));
    return this;
  }
  stringField(field, s) {
    return this.bytesField(field, new TextEncoder().encode(s));
  }
  finish() {
    return concat(this.parts);
  }
}

/**
 * tensor returns an encoded TensorProto with raw_data.
 * @param {string} name
 * @param {number} dataType DataType value
 * @param {number[]} dims
 * @param {Uint8Array} raw little-endian element bytes
 */
export function tensor(name, dataType, dims, raw) {
  const m = new Message();
  for (const d of dims) m.varintField(1, d);
  m.varintField(2, dataType);
  m.stringField(8, name);
  m.bytesField(9, raw);
  return m.finish();
}

/**
 * valueInfo returns an encoded ValueInfoProto for a tensor. Each dim is a
 * number (dim_value) or a string (dim_param); dims === null leaves the shape out.
 */
export function valueInfo(name, elemType, dims) {
  const tt = new Message().varintField(1, elemType);
  if (dims !== null) {
    const shape = new Message();
    for (const d of dims) {
      const dim = new Message();
      if (typeof d === 'string') dim.stringField(2, d);
      else dim.varintField(1, d);
      shape.bytesField(1, dim.finish());
    }
    tt.bytesField(2, shape.finish());
  }
  const type = new Message().bytesField(1, tt.finish()).finish();
  return new Message().stringField(1, name).bytesField(2, type).finish();
}

/** intAttr returns an encoded AttributeProto of type INT. */
export function intAttr(name, value) {
  return new Message().stringField(1, name).varintField(3, value).varintField(20, 2).finish();
}

/**
 * node returns an encoded NodeProto. inputs may contain "" for an absent
 * optional input; attrs is a list of encoded AttributeProtos.
 */
export function node({ name, opType, domain = '', inputs, outputs, attrs = [] }) {
  const m = new Message();
  for (const s of inputs) m.stringField(1, s);
  for (const s of outputs) m.stringField(2, s);
  m.stringField(3, name);
  m.stringField(4, opType);
  for (const a of attrs) m.bytesField(5, a);
  if (domain !== '') m.stringField(7, domain);
  return m.finish();
}

/** graph returns an encoded GraphProto. */
export function graph({ name, nodes, initializers = [], inputs, outputs }) {
  const m = new Message();
  for (const n of nodes) m.bytesField(1, n);
  m.stringField(2, name);
  for (const t of initializers) m.bytesField(5, t);
  for (const v of inputs) m.bytesField(11, v);
  for (const v of outputs) m.bytesField(12, v);
  return m.finish();
}

/**
 * model returns an encoded ModelProto (ir_version 10 by default) importing the
 * given opsets, e.g. [["", 21], ["com.microsoft", 1]].
 */
export function model(graphBytes, opsets, irVersion = 10) {
  const m = new Message().varintField(1, irVersion);
  m.stringField(2, 'zerfoo-tools-ort');
  m.bytesField(7, graphBytes);
  for (const [domain, version] of opsets) {
    const o = new Message();
    if (domain !== '') o.stringField(1, domain);
    o.varintField(2, version);
    m.bytesField(8, o.finish());
  }
  return m.finish();
}
