//! Cuts the Kokoro graph in two, in memory, before the decoder:
//!
//! - the **prosody** half: token ids, style and speed in; frames per token, the text features
//!   aligned to frames, and the pitch (F0) and energy curves out (two values per frame). It is
//!   about 4% of a call's time.
//! - the **decoder** half: those aligned features and curves, and the style, in; audio out. Its
//!   time and memory grow with the frames it renders, and nothing in it runs across frames except
//!   convolutions (a few frames wide) and per-call normalisation, so it can render a long call's
//!   frames in windows.
//!
//! The two halves together compute exactly what the whole graph computes (same nodes, same
//! weights). The cut is done on the protobuf wire format: the graph's nodes, initializers and
//! value infos are copied as the bytes they are, only the lists of nodes, inputs and outputs
//! change. No ONNX crate is needed, and the file on disk stays untouched.

use std::collections::{HashMap, HashSet};

/// Frames per token, pads included (int64, one per token).
pub(super) const DURATIONS: &str = "/encoder/Cast_output_0";
/// The text encoder's features repeated over each token's frames: float `[1, 512, frames]`.
pub(super) const ALIGNED: &str = "/encoder/MatMul_1_output_0";
/// Pitch curve, two values per frame: float `[1, 2 * frames]`.
pub(super) const PITCH: &str = "/encoder/Reshape_output_0";
/// Energy curve, two values per frame: float `[1, 2 * frames]`.
pub(super) const ENERGY: &str = "/encoder/Reshape_1_output_0";
/// Channels of [`ALIGNED`].
pub(super) const ALIGNED_CHANNELS: usize = 512;
const STYLE: &str = "style";
const AUDIO: &str = "audio";

const FLOAT: u64 = 1;
const INT64: u64 = 7;

/// The two halves, as ONNX model bytes.
pub(super) struct SplitModel {
    pub(super) prosody: Vec<u8>,
    pub(super) decoder: Vec<u8>,
}

/// Why the model could not be cut.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(super) enum GraphError {
    #[error("the model file is not valid ONNX (damaged protobuf at byte {0})")]
    Damaged(usize),
    #[error("the model has no tensor named {0}: it is not a Kokoro v1.0 model")]
    Missing(&'static str),
}

/// Cuts `model` (the ONNX file's bytes) into its prosody and decoder halves.
pub(super) fn split(model: &[u8]) -> Result<SplitModel, GraphError> {
    let top = fields(model, 0)?;
    let graph_field = top.iter().find(|f| f.number == 7).ok_or(GraphError::Missing("graph"))?;
    let graph = Graph::parse(graph_field.payload, graph_field.payload_at)?;

    let prosody_outputs = [
        value_info(DURATIONS, INT64, &[]),
        value_info(ALIGNED, FLOAT, &[]),
        value_info(PITCH, FLOAT, &[]),
        value_info(ENERGY, FLOAT, &[]),
    ];
    let prosody_nodes = graph.ancestors(&[DURATIONS, ALIGNED, PITCH, ENERGY], &[])?;
    let prosody = graph.subgraph(&prosody_nodes, &graph.inputs(), &prosody_outputs);

    let frames = Dim::Param("frames");
    let twice_frames = Dim::Param("twice_frames");
    let decoder_inputs = [
        value_info(ALIGNED, FLOAT, &[Dim::Value(1), Dim::Value(ALIGNED_CHANNELS as u64), frames]),
        value_info(PITCH, FLOAT, &[Dim::Value(1), twice_frames]),
        value_info(ENERGY, FLOAT, &[Dim::Value(1), twice_frames]),
        graph.info(INPUT, STYLE)?,
    ];
    let decoder_nodes = graph.ancestors(&[AUDIO], &[ALIGNED, PITCH, ENERGY, STYLE])?;
    let decoder = graph.subgraph(&decoder_nodes, &decoder_inputs, &[graph.info(OUTPUT, AUDIO)?]);

    let rebuild = |graph_bytes: Vec<u8>| {
        let mut out = Vec::with_capacity(graph_bytes.len() + 64);
        for field in &top {
            if field.number == 7 {
                out.extend(len_field(7, &graph_bytes));
            } else {
                out.extend_from_slice(field.raw);
            }
        }
        out
    };
    Ok(SplitModel { prosody: rebuild(prosody), decoder: rebuild(decoder) })
}

/// What [`with_own_kernels`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OwnKernels {
    /// `ConvInteger` nodes moved to our domain.
    pub(super) convolutions: usize,
    /// Of those, the ones fused with the bias `Add`, `Cast` and scale `Mul` after them.
    pub(super) scaled: usize,
    /// Snake activations (five nodes each) made one node of our domain.
    pub(super) snakes: usize,
}

/// `model` (one half's bytes) with our kernels in place of ONNX Runtime's where they apply, in
/// `domain`, which is imported:
/// - each 1-D, one-group, stride-1 `ConvInteger` with constant weights moves to `domain` (same
///   inputs, attributes and output), or, where its only use is `[Add(bias)] -> Cast(float) ->
///   Mul(scale)`, becomes with them `ConvScaled(x, w, x_zero, w_zero, scale[, bias])`;
/// - each Snake, `Add(x, Mul(inv_alpha, Pow(Sin(Mul(alpha, x)), 2)))` with constant `alpha` and
///   `inv_alpha` and no other use of its inner values, becomes `Snake(x, alpha, inv_alpha)`.
pub(super) fn with_own_kernels(model: &[u8], domain: &str) -> Result<(Vec<u8>, OwnKernels), GraphError> {
    let top = fields(model, 0)?;
    let graph_field = top.iter().find(|f| f.number == 7).ok_or(GraphError::Missing("graph"))?;
    let graph = Graph::parse(graph_field.payload, graph_field.payload_at)?;
    let initializers: HashMap<&str, &Field> =
        graph.fields.iter().filter(|f| f.number == INITIALIZER).filter_map(|f| Some((tensor_name(f)?, f))).collect();
    let rank = |name: &str| initializers.get(name).and_then(|f| tensor_rank(f));
    let graph_outputs: HashSet<&str> =
        graph.fields.iter().filter(|f| f.number == OUTPUT).filter_map(info_name).collect();
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        for input in &node.inputs {
            consumers.entry(input).or_default().push(i);
        }
    }
    let op = |node: usize| op_type(&graph.fields[graph.nodes[node].field]);
    // The one node that reads `node`'s only output.
    let sole_consumer = |node: usize| -> Option<usize> {
        let [output] = graph.nodes[node].outputs[..] else { return None };
        match consumers.get(output).map(Vec::as_slice) {
            Some(&[next]) if !graph_outputs.contains(output) => Some(next),
            _ => None,
        }
    };
    // The same, if it is of type `kind`.
    let only_consumer = |node: usize, kind: &str| sole_consumer(node).filter(|&next| op(next) == Some(kind));
    // The input of a two-input node other than `known`.
    let other = |node: usize, known: &str| -> Option<&str> {
        match graph.nodes[node].inputs[..] {
            [a, b] if a == known => Some(b),
            [a, b] if b == known => Some(a),
            _ => None,
        }
    };

    // Field index -> its replacement (None: dropped).
    let mut edits: HashMap<usize, Option<Vec<u8>>> = HashMap::new();
    let mut counts = OwnKernels { convolutions: 0, scaled: 0, snakes: 0 };
    for (i, node) in graph.nodes.iter().enumerate() {
        let field = &graph.fields[node.field];
        match op(i) {
            Some("ConvInteger")
                if node.inputs.len() == 4
                    && rank(node.inputs[1]) == Some(3)
                    && rank(node.inputs[3]).is_some()
                    && ints_attribute(field, "group").is_none_or(|g| g == [1])
                    && ints_attribute(field, "strides").is_none_or(|s| s.iter().all(|&v| v == 1)) =>
            {
                counts.convolutions += 1;
                // ConvInteger -> [Add(bias)] -> Cast(float) -> Mul(scale): one ConvScaled.
                let tail = (|| {
                    let next = sole_consumer(i)?;
                    let (bias, cast) = match op(next) {
                        Some("Add") => (Some((next, other(next, node.outputs[0])?)), only_consumer(next, "Cast")?),
                        Some("Cast") => (None, next),
                        _ => return None,
                    };
                    (ints_attribute(&graph.fields[graph.nodes[cast].field], "to")? == [FLOAT]).then_some(())?;
                    let mul = only_consumer(cast, "Mul")?;
                    let scale = other(mul, graph.nodes[cast].outputs[0])?;
                    Some((bias, cast, mul, scale))
                })();
                let parts = fields(field.payload, field.payload_at)?;
                let Some((bias, cast, mul, scale)) = tail else {
                    let mut moved = Vec::with_capacity(field.payload.len() + domain.len() + 4);
                    for part in parts.iter().filter(|p| p.number != NODE_DOMAIN) {
                        moved.extend_from_slice(part.raw);
                    }
                    moved.extend(len_field(NODE_DOMAIN, domain.as_bytes()));
                    edits.insert(node.field, Some(len_field(NODE, &moved)));
                    continue;
                };
                let mut fused = Vec::new();
                let bias_input = bias.map(|(_, name)| name);
                for input in node.inputs.iter().copied().chain([scale]).chain(bias_input) {
                    fused.extend(len_field(1, input.as_bytes()));
                }
                fused.extend(len_field(2, graph.nodes[mul].outputs[0].as_bytes()));
                let name = string_field(field, 3).unwrap_or("conv");
                fused.extend(len_field(3, format!("{name}_scaled").as_bytes()));
                fused.extend(len_field(4, b"ConvScaled"));
                for attribute in parts.iter().filter(|p| p.number == 5) {
                    fused.extend_from_slice(attribute.raw);
                }
                fused.extend(len_field(NODE_DOMAIN, domain.as_bytes()));
                for dropped in [Some(i), bias.map(|(add, _)| add), Some(cast)].into_iter().flatten() {
                    edits.insert(graph.nodes[dropped].field, None);
                }
                edits.insert(graph.nodes[mul].field, Some(len_field(NODE, &fused)));
                counts.scaled += 1;
            }
            Some("Sin") => {
                let snake = (|| {
                    let scale = *graph.producer.get(node.inputs.first()?)?;
                    let [a, b] = graph.nodes[scale].inputs[..] else { return None };
                    let (alpha, x) = if rank(a).is_some() { (a, b) } else { (b, a) };
                    (op(scale) == Some("Mul") && rank(alpha).is_some() && only_consumer(scale, "Sin") == Some(i))
                        .then_some(())?;
                    let square = only_consumer(i, "Pow")?;
                    let exponent = initializers.get(other(square, node.outputs[0])?)?;
                    (scalar_float(exponent) == Some(2.0)).then_some(())?;
                    let weigh = only_consumer(square, "Mul")?;
                    let inv_alpha = other(weigh, graph.nodes[square].outputs[0])?;
                    rank(inv_alpha)?;
                    let sum = only_consumer(weigh, "Add")?;
                    (other(sum, graph.nodes[weigh].outputs[0])? == x).then_some(())?;
                    Some((scale, square, weigh, sum, alpha, x, inv_alpha))
                })();
                let Some((scale, square, weigh, sum, alpha, x, inv_alpha)) = snake else { continue };
                for dropped in [scale, i, square, weigh] {
                    edits.insert(graph.nodes[dropped].field, None);
                }
                let mut fused = Vec::new();
                for input in [x, alpha, inv_alpha] {
                    fused.extend(len_field(1, input.as_bytes()));
                }
                fused.extend(len_field(2, graph.nodes[sum].outputs[0].as_bytes()));
                let name = string_field(field, 3).unwrap_or("snake");
                fused.extend(len_field(3, format!("{name}_snake").as_bytes()));
                fused.extend(len_field(4, b"Snake"));
                fused.extend(len_field(NODE_DOMAIN, domain.as_bytes()));
                edits.insert(graph.nodes[sum].field, Some(len_field(NODE, &fused)));
                counts.snakes += 1;
            }
            _ => {}
        }
    }
    let mut graph_bytes = Vec::with_capacity(graph_field.payload.len() + 4096);
    for (index, field) in graph.fields.iter().enumerate() {
        match edits.get(&index) {
            Some(Some(replacement)) => graph_bytes.extend_from_slice(replacement),
            Some(None) => {}
            None => graph_bytes.extend_from_slice(field.raw),
        }
    }
    let mut out = Vec::with_capacity(model.len() + 4096);
    for field in &top {
        if field.number == 7 {
            out.extend(len_field(7, &graph_bytes));
        } else {
            out.extend_from_slice(field.raw);
        }
    }
    let mut opset = len_field(1, domain.as_bytes());
    opset.extend(varint_field(2, 1));
    out.extend(len_field(OPSET_IMPORT, &opset));
    Ok((out, counts))
}

/// The value of a one-element float `TensorProto` (from `raw_data`, field 9, or `float_data`,
/// field 4).
fn scalar_float(tensor: &Field) -> Option<f32> {
    let parts = fields(tensor.payload, tensor.payload_at).ok()?;
    let bytes = parts.iter().find_map(|p| match p.number {
        9 => Some(p.payload),
        4 if p.raw[0] & 7 == 2 => Some(p.payload),
        4 => Some(&p.raw[1..]),
        _ => None,
    })?;
    Some(f32::from_le_bytes(bytes.try_into().ok()?))
}

/// `NodeProto.domain`.
const NODE_DOMAIN: u64 = 7;
/// `ModelProto.opset_import`.
const OPSET_IMPORT: u64 = 8;

/// A node's `op_type` (field 4).
fn op_type<'a>(node: &Field<'a>) -> Option<&'a str> {
    string_field(node, 4)
}

/// The integer value(s) of a node's attribute `name` (its `i`, field 3, or `ints`, field 8,
/// packed or not); `None` when the node has no such attribute or it cannot be read.
fn ints_attribute(node: &Field, name: &str) -> Option<Vec<u64>> {
    let parts = fields(node.payload, node.payload_at).ok()?;
    let attribute = parts.iter().find(|p| p.number == 5 && string_field(p, 1) == Some(name))?;
    let mut values = Vec::new();
    for value in fields(attribute.payload, attribute.payload_at).ok()? {
        match (value.number, value.raw.first().map(|key| key & 7)) {
            (3 | 8, Some(0)) => {
                let mut pos = 1;
                values.push(varint(value.raw, &mut pos)?);
            }
            (8, Some(2)) => {
                let mut pos = 0;
                while pos < value.payload.len() {
                    values.push(varint(value.payload, &mut pos)?);
                }
            }
            _ => {}
        }
    }
    Some(values)
}

/// The number of dimensions of a `TensorProto` (its `dims`, field 1, packed or not).
fn tensor_rank(tensor: &Field) -> Option<usize> {
    let parts = fields(tensor.payload, tensor.payload_at).ok()?;
    let mut rank = 0;
    for part in parts.iter().filter(|p| p.number == 1) {
        if part.raw[0] & 7 == 2 {
            let mut pos = 0;
            while pos < part.payload.len() {
                varint(part.payload, &mut pos)?;
                rank += 1;
            }
        } else {
            rank += 1;
        }
    }
    Some(rank)
}

/// One protobuf field: its number, its whole encoding (key included) and, for length-delimited
/// fields, its payload.
struct Field<'a> {
    number: u64,
    raw: &'a [u8],
    payload: &'a [u8],
    /// Where the payload starts in the file, for error messages.
    payload_at: usize,
}

/// The fields of one message, in order. `at` is the message's offset in the file.
fn fields(bytes: &[u8], at: usize) -> Result<Vec<Field<'_>>, GraphError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let start = pos;
        let damaged = |p: usize| GraphError::Damaged(at + p);
        let key = varint(bytes, &mut pos).ok_or(damaged(start))?;
        let (number, wire) = (key >> 3, key & 7);
        let (payload_start, end) = match wire {
            0 => {
                varint(bytes, &mut pos).ok_or(damaged(pos))?;
                (pos, pos)
            }
            1 => (pos, pos + 8),
            2 => {
                let len = varint(bytes, &mut pos).ok_or(damaged(pos))?;
                let len = usize::try_from(len).map_err(|_| damaged(pos))?;
                (pos, pos.checked_add(len).ok_or(damaged(pos))?)
            }
            5 => (pos, pos + 4),
            _ => return Err(damaged(start)),
        };
        if end > bytes.len() {
            return Err(damaged(start));
        }
        let payload = if wire == 2 { &bytes[payload_start..end] } else { &[][..] };
        out.push(Field { number, raw: &bytes[start..end], payload, payload_at: at + payload_start });
        pos = end;
    }
    Ok(out)
}

fn varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn len_field(number: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 12);
    put_varint(&mut out, (number << 3) | 2);
    put_varint(&mut out, payload.len() as u64);
    out.extend_from_slice(payload);
    out
}

fn varint_field(number: u64, value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, number << 3);
    put_varint(&mut out, value);
    out
}

#[derive(Clone, Copy)]
enum Dim {
    Value(u64),
    Param(&'static str),
}

/// A `ValueInfoProto` naming a tensor of `elem_type` with `dims` (none: shape left open).
fn value_info(name: &str, elem_type: u64, dims: &[Dim]) -> Vec<u8> {
    let mut tensor = varint_field(1, elem_type);
    if !dims.is_empty() {
        let shape: Vec<u8> = dims
            .iter()
            .flat_map(|dim| match dim {
                Dim::Value(v) => len_field(1, &varint_field(1, *v)),
                Dim::Param(p) => len_field(1, &len_field(2, p.as_bytes())),
            })
            .collect();
        tensor.extend(len_field(2, &shape));
    }
    let mut info = len_field(1, name.as_bytes());
    info.extend(len_field(2, &len_field(1, &tensor)));
    info
}

/// The parts of a `GraphProto` a cut needs.
struct Graph<'a> {
    fields: Vec<Field<'a>>,
    /// Per node field: its index in `fields`, its inputs and outputs.
    nodes: Vec<Node<'a>>,
    producer: HashMap<&'a str, usize>,
}

struct Node<'a> {
    field: usize,
    inputs: Vec<&'a str>,
    outputs: Vec<&'a str>,
}

const NODE: u64 = 1;
const INITIALIZER: u64 = 5;
const INPUT: u64 = 11;
const OUTPUT: u64 = 12;
const VALUE_INFO: u64 = 13;
/// Quantization annotations name tensors of the whole graph; inference does not read them.
const QUANTIZATION_ANNOTATION: u64 = 14;

impl<'a> Graph<'a> {
    fn parse(bytes: &'a [u8], at: usize) -> Result<Self, GraphError> {
        let fields = fields(bytes, at)?;
        let mut nodes = Vec::new();
        for (index, field) in fields.iter().enumerate().filter(|(_, f)| f.number == NODE) {
            let mut node = Node { field: index, inputs: Vec::new(), outputs: Vec::new() };
            for part in self::fields(field.payload, field.payload_at)? {
                let name = || std::str::from_utf8(part.payload).map_err(|_| GraphError::Damaged(part.payload_at));
                match part.number {
                    1 => node.inputs.push(name()?),
                    2 => node.outputs.push(name()?),
                    _ => {}
                }
            }
            nodes.push(node);
        }
        let producer = nodes.iter().enumerate().flat_map(|(i, n)| n.outputs.iter().map(move |&o| (o, i))).collect();
        Ok(Self { fields, nodes, producer })
    }

    /// Indices of the nodes `targets` are computed from, not looking past `stop`.
    fn ancestors(&self, targets: &[&'static str], stop: &[&str]) -> Result<HashSet<usize>, GraphError> {
        let mut keep = HashSet::new();
        let mut seen: HashSet<&str> = stop.iter().copied().collect();
        let mut pending: Vec<&str> = Vec::new();
        for &target in targets {
            if !self.producer.contains_key(target) {
                return Err(GraphError::Missing(target));
            }
            pending.push(target);
        }
        while let Some(tensor) = pending.pop() {
            if !seen.insert(tensor) {
                continue;
            }
            if let Some(&node) = self.producer.get(tensor)
                && keep.insert(node)
            {
                pending.extend(self.nodes[node].inputs.iter().filter(|i| !i.is_empty()));
            }
        }
        Ok(keep)
    }

    /// The graph with only `nodes` (kept in their order, which is topological), the
    /// initializers and value infos they use, and the given inputs and outputs (encoded
    /// `ValueInfoProto`s, each becoming one field).
    fn subgraph(&self, nodes: &HashSet<usize>, inputs: &[Vec<u8>], outputs: &[Vec<u8>]) -> Vec<u8> {
        let kept_fields: HashSet<usize> = nodes.iter().map(|&n| self.nodes[n].field).collect();
        let used: HashSet<&str> =
            nodes.iter().flat_map(|&n| self.nodes[n].inputs.iter().chain(&self.nodes[n].outputs)).copied().collect();
        let mut out = Vec::new();
        for (index, field) in self.fields.iter().enumerate() {
            let keep = match field.number {
                NODE => kept_fields.contains(&index),
                INITIALIZER => tensor_name(field).is_some_and(|n| used.contains(n)),
                VALUE_INFO => info_name(field).is_some_and(|n| used.contains(n)),
                INPUT | OUTPUT | QUANTIZATION_ANNOTATION => false,
                _ => true,
            };
            if keep {
                out.extend_from_slice(field.raw);
            }
        }
        for info in inputs {
            out.extend(len_field(INPUT, info));
        }
        for info in outputs {
            out.extend(len_field(OUTPUT, info));
        }
        out
    }

    /// Every graph input's `ValueInfoProto`.
    fn inputs(&self) -> Vec<Vec<u8>> {
        self.fields.iter().filter(|f| f.number == INPUT).map(|f| f.payload.to_vec()).collect()
    }

    /// The `ValueInfoProto` of the graph input or output (`number`) called `name`.
    fn info(&self, number: u64, name: &'static str) -> Result<Vec<u8>, GraphError> {
        self.fields
            .iter()
            .find(|f| f.number == number && info_name(f) == Some(name))
            .map(|f| f.payload.to_vec())
            .ok_or(GraphError::Missing(name))
    }
}

/// The name (field 1) of a `ValueInfoProto` field.
fn info_name<'a>(field: &Field<'a>) -> Option<&'a str> {
    string_field(field, 1)
}

/// The name (field 8) of a `TensorProto` field.
fn tensor_name<'a>(field: &Field<'a>) -> Option<&'a str> {
    string_field(field, 8)
}

fn string_field<'a>(field: &Field<'a>, number: u64) -> Option<&'a str> {
    let parts = fields(field.payload, field.payload_at).ok()?;
    let part = parts.into_iter().find(|p| p.number == number)?;
    std::str::from_utf8(part.payload).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, inputs: &[&str], outputs: &[&str]) -> Vec<u8> {
        let mut node = Vec::new();
        for i in inputs {
            node.extend(len_field(1, i.as_bytes()));
        }
        for o in outputs {
            node.extend(len_field(2, o.as_bytes()));
        }
        node.extend(len_field(3, name.as_bytes()));
        len_field(NODE, &node)
    }

    fn initializer(name: &str) -> Vec<u8> {
        len_field(INITIALIZER, &len_field(8, name.as_bytes()))
    }

    /// A graph shaped like Kokoro's: tokens, style and speed in; the prosody tensors in the
    /// middle; audio out; one weight per half.
    fn toy_model() -> Vec<u8> {
        let mut graph = Vec::new();
        graph.extend(node("encode", &["tokens", "speed", "w_prosody"], &[DURATIONS, ALIGNED, PITCH, ENERGY]));
        graph.extend(node("decode", &[ALIGNED, PITCH, ENERGY, "style", "w_decoder"], &[AUDIO]));
        graph.extend(initializer("w_prosody"));
        graph.extend(initializer("w_decoder"));
        for name in ["tokens", STYLE, "speed"] {
            graph.extend(len_field(INPUT, &value_info(name, FLOAT, &[])));
        }
        graph.extend(len_field(OUTPUT, &value_info(AUDIO, FLOAT, &[])));
        let mut model = varint_field(1, 8);
        model.extend(len_field(7, &graph));
        model
    }

    /// Names of the graph's nodes, initializers, inputs and outputs.
    fn contents(model: &[u8]) -> [Vec<String>; 4] {
        let top = fields(model, 0).unwrap();
        assert_eq!(top[0].raw, &varint_field(1, 8)[..], "fields outside the graph are kept");
        let graph = top.iter().find(|f| f.number == 7).unwrap();
        let parts = fields(graph.payload, 0).unwrap();
        let names = |number: u64, name_field: u64| -> Vec<String> {
            parts
                .iter()
                .filter(|f| f.number == number)
                .map(|f| string_field(f, name_field).unwrap().to_string())
                .collect()
        };
        [names(NODE, 3), names(INITIALIZER, 8), names(INPUT, 1), names(OUTPUT, 1)]
    }

    #[test]
    fn each_half_keeps_its_own_nodes_weights_inputs_and_outputs() {
        let split = split(&toy_model()).unwrap();
        let [nodes, weights, inputs, outputs] = contents(&split.prosody);
        assert_eq!((nodes, weights), (vec!["encode".to_string()], vec!["w_prosody".to_string()]));
        assert_eq!(inputs, ["tokens", STYLE, "speed"]);
        assert_eq!(outputs, [DURATIONS, ALIGNED, PITCH, ENERGY]);
        let [nodes, weights, inputs, outputs] = contents(&split.decoder);
        assert_eq!((nodes, weights), (vec!["decode".to_string()], vec!["w_decoder".to_string()]));
        assert_eq!(inputs, [ALIGNED, PITCH, ENERGY, STYLE]);
        assert_eq!(outputs, [AUDIO]);
    }

    fn op_node(op: &str, name: &str, inputs: &[&str], outputs: &[&str], attributes: &[Vec<u8>]) -> Vec<u8> {
        let mut node = Vec::new();
        for i in inputs {
            node.extend(len_field(1, i.as_bytes()));
        }
        for o in outputs {
            node.extend(len_field(2, o.as_bytes()));
        }
        node.extend(len_field(3, name.as_bytes()));
        node.extend(len_field(4, op.as_bytes()));
        for attribute in attributes {
            node.extend(len_field(5, attribute));
        }
        len_field(NODE, &node)
    }

    fn ints(name: &str, values: &[u64]) -> Vec<u8> {
        let mut attribute = len_field(1, name.as_bytes());
        for &v in values {
            attribute.extend(varint_field(8, v));
        }
        attribute
    }

    /// A float initializer of the given dims holding `value` in its raw data.
    fn tensor(name: &str, dims: &[u64], value: f32) -> Vec<u8> {
        let mut tensor = Vec::new();
        for &d in dims {
            tensor.extend(varint_field(1, d));
        }
        tensor.extend(varint_field(2, FLOAT));
        tensor.extend(len_field(8, name.as_bytes()));
        tensor.extend(len_field(9, &value.to_le_bytes()));
        len_field(INITIALIZER, &tensor)
    }

    fn ops(model: &[u8]) -> Vec<(String, String)> {
        let top = fields(model, 0).unwrap();
        let graph = top.iter().find(|f| f.number == 7).unwrap();
        let parts = fields(graph.payload, 0).unwrap();
        parts
            .iter()
            .filter(|f| f.number == NODE)
            .map(|f| (op_type(f).unwrap().to_string(), string_field(f, NODE_DOMAIN).unwrap_or("").to_string()))
            .collect()
    }

    #[test]
    fn our_kernels_take_the_convolutions_and_snakes_they_can_run_and_nothing_else() {
        let mut graph = Vec::new();
        graph.extend(op_node("Mul", "scale", &["alpha", "x"], &["ax"], &[]));
        graph.extend(op_node("Sin", "sin", &["ax"], &["s"], &[]));
        graph.extend(op_node("Pow", "square", &["s", "two"], &["s2"], &[]));
        graph.extend(op_node("Mul", "weigh", &["inv_alpha", "s2"], &["w"], &[]));
        graph.extend(op_node("Add", "sum", &["x", "w"], &["y"], &[]));
        graph.extend(op_node("ConvInteger", "conv", &["y", "weight", "y_zero", "weight_zero"], &["c"], &[]));
        let strided = [ints("strides", &[2])];
        graph.extend(op_node("ConvInteger", "strided", &["c", "weight", "y_zero", "weight_zero"], &["d"], &strided));
        // A Sin whose argument is used elsewhere is not a Snake.
        graph.extend(op_node("Mul", "scale2", &["alpha", "d"], &["ad"], &[]));
        graph.extend(op_node("Sin", "sin2", &["ad"], &["s3"], &[]));
        graph.extend(op_node("Add", "leak", &["ad", "s3"], &[AUDIO], &[]));
        graph.extend(tensor("alpha", &[1, 4, 1], 2.0));
        graph.extend(tensor("inv_alpha", &[1, 4, 1], 0.5));
        graph.extend(tensor("two", &[], 2.0));
        graph.extend(tensor("weight", &[4, 4, 3], 0.0));
        graph.extend(tensor("weight_zero", &[], 0.0));
        let mut model = varint_field(1, 8);
        model.extend(len_field(7, &graph));

        let (rewritten, counts) = with_own_kernels(&model, "ours").unwrap();
        assert_eq!(counts, OwnKernels { convolutions: 1, scaled: 0, snakes: 1 });
        let expected =
            [("Snake", "ours"), ("ConvInteger", "ours"), ("ConvInteger", ""), ("Mul", ""), ("Sin", ""), ("Add", "")];
        let expected: Vec<(String, String)> = expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(ops(&rewritten), expected);
        let top = fields(&rewritten, 0).unwrap();
        let opset = top.iter().find(|f| f.number == OPSET_IMPORT).unwrap();
        assert_eq!(string_field(opset, 1), Some("ours"));
    }

    #[test]
    fn a_convolution_followed_by_its_bias_cast_and_scale_becomes_one_node() {
        let mut graph = Vec::new();
        graph.extend(op_node(
            "ConvInteger",
            "conv",
            &["x", "weight", "x_zero", "weight_zero"],
            &["c"],
            &[ints("pads", &[1, 1])],
        ));
        graph.extend(op_node("Add", "bias", &["c", "b"], &["cb"], &[]));
        graph.extend(op_node("Cast", "cast", &["cb"], &["f"], &[ints("to", &[FLOAT])]));
        graph.extend(op_node("Mul", "scale", &["f", "s"], &[AUDIO], &[]));
        graph.extend(tensor("weight", &[4, 4, 3], 0.0));
        graph.extend(tensor("weight_zero", &[], 0.0));
        let mut model = varint_field(1, 8);
        model.extend(len_field(7, &graph));
        let (rewritten, counts) = with_own_kernels(&model, "ours").unwrap();
        assert_eq!(counts, OwnKernels { convolutions: 1, scaled: 1, snakes: 0 });
        assert_eq!(ops(&rewritten), [("ConvScaled".to_string(), "ours".to_string())]);
        let top = fields(&rewritten, 0).unwrap();
        let graph = top.iter().find(|f| f.number == 7).unwrap();
        let parts = fields(graph.payload, 0).unwrap();
        let node = parts.iter().find(|f| f.number == NODE).unwrap();
        let node_parts = fields(node.payload, 0).unwrap();
        let names = |n: u64| -> Vec<&str> {
            node_parts.iter().filter(|p| p.number == n).map(|p| std::str::from_utf8(p.payload).unwrap()).collect()
        };
        assert_eq!(names(1), ["x", "weight", "x_zero", "weight_zero", "s", "b"]);
        assert_eq!(names(2), [AUDIO]);
        assert_eq!(ints_attribute(node, "pads"), Some(vec![1, 1]), "the convolution's attributes come along");
    }

    #[test]
    fn damaged_or_foreign_models_are_refused() {
        let model = toy_model();
        assert!(matches!(split(&model[..model.len() - 5]), Err(GraphError::Damaged(_))));
        assert_eq!(split(&varint_field(1, 8)).err(), Some(GraphError::Missing("graph")));
        let mut no_pitch = varint_field(1, 8);
        no_pitch.extend(len_field(7, &node("decode", &["x"], &[AUDIO])));
        assert_eq!(split(&no_pitch).err(), Some(GraphError::Missing(DURATIONS)));
    }
}
