//! The int8 convolution as an ONNX Runtime custom operator: `audiobook.kernels:ConvInteger`,
//! with the inputs, attributes and output of ONNX's `ConvInteger` (1-D, one group, stride 1), so `graph`
//! only moves nodes into this domain.
//!
//! Weights are packed when a session creates the node's kernel, and the packs are shared by every
//! session of the process: a pool of sessions holds one copy.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use ort::operator::{ComputeContext, Kernel, KernelContext, Operator, OperatorDomain, OperatorInput, OperatorOutput};
use ort::value::{DynTensorValueType, TensorElementType};

use super::conv::{ConvShape, Out, PackedConv};
use super::{Disjoint, Isa};

/// The custom operators' domain, which `graph` writes into the nodes it moves.
pub const DOMAIN: &str = "audiobook.kernels";

/// The domain to register on a session's builder, its kernels running on `isa`.
pub fn domain(isa: Isa) -> ort::Result<OperatorDomain> {
    OperatorDomain::new(DOMAIN)?
        .add(ConvOp { isa, scaled: false })?
        .add(ConvOp { isa, scaled: true })?
        .add(SnakeOp { isa })
}

/// `Snake(x, alpha, inv_alpha)`: `x + inv_alpha * sin(alpha * x)^2`, `alpha` and `inv_alpha`
/// constants of shape `[1, channels, 1]` (see `snake`).
struct SnakeOp {
    isa: Isa,
}

impl Operator for SnakeOp {
    type Kernel<'attr> = SnakeKernel;

    fn name(&self) -> &str {
        "Snake"
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        std::array::from_fn::<_, 3, _>(|_| OperatorInput::required(TensorElementType::Float32))
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(TensorElementType::Float32)]
    }

    fn create_kernel<'attr>(&self, ctx: &KernelContext<'attr>) -> ort::Result<SnakeKernel> {
        let node = ctx.node_name().unwrap_or_default();
        let constant = |index: usize| -> ort::Result<Vec<f32>> {
            let value = ctx
                .constant_input::<DynTensorValueType>(index)
                .map_err(|_| ort::Error::new(format!("{node}: Snake's alpha must be a constant")))?;
            Ok(value.try_extract_tensor::<f32>()?.1.to_vec())
        };
        let (alpha, inv_alpha) = (constant(1)?, constant(2)?);
        if alpha.len() != inv_alpha.len() {
            return Err(ort::Error::new(format!("{node}: alpha and its reciprocal differ in size")));
        }
        Ok(SnakeKernel { alpha, inv_alpha, isa: self.isa })
    }
}

pub struct SnakeKernel {
    alpha: Vec<f32>,
    inv_alpha: Vec<f32>,
    isa: Isa,
}

impl Kernel for SnakeKernel {
    fn compute(&mut self, ctx: &ComputeContext) -> ort::Result<()> {
        let x = ctx.input(0)?.ok_or_else(|| ort::Error::new("Snake: the input is missing"))?;
        let (dims, x) = x.try_extract_tensor::<f32>()?;
        let channels = self.alpha.len();
        let &[batch, c, len] = &dims[..] else {
            return Err(ort::Error::new("Snake: expected a [batch, channels, time] input"));
        };
        if c as usize != channels {
            return Err(ort::Error::new(format!("Snake: {c} channels, alpha has {channels}")));
        }
        let len = len as usize;
        let mut out = ctx.output(0, dims.to_vec())?.ok_or_else(|| ort::Error::new("Snake: no output"))?;
        let (_, out) = out.try_extract_tensor_mut::<f32>()?;
        let rows = batch as usize * channels;
        let shared = Disjoint::new(out);
        let row = |r: usize| {
            // SAFETY: each row index writes its own `len` elements of `out`, which outlives
            // this call; indices are distinct.
            let out = unsafe { shared.part(r * len, len) };
            let c = r % channels;
            super::snake::snake(&x[r * len..(r + 1) * len], self.alpha[c], self.inv_alpha[c], out, self.isa);
        };
        if rows < 2 || ctx.par_for(rows, rows, row).is_err() {
            (0..rows).for_each(row);
        }
        Ok(())
    }
}

/// `ConvInteger` (`scaled: false`), or `ConvScaled(x, w, x_zero, w_zero, scale, bias?)`:
/// `ConvInteger` with the graph's bias `Add`, `Cast` to float and `Mul` by the scale after it, in
/// one pass (`scaled: true`).
struct ConvOp {
    isa: Isa,
    scaled: bool,
}

impl Operator for ConvOp {
    type Kernel<'attr> = ConvKernel;

    fn name(&self) -> &str {
        if self.scaled { "ConvScaled" } else { "ConvInteger" }
    }

    fn inputs(&self) -> impl IntoIterator<Item = OperatorInput> {
        let mut inputs: Vec<OperatorInput> =
            (0..4).map(|_| OperatorInput::required(TensorElementType::Uint8)).collect();
        if self.scaled {
            inputs.push(OperatorInput::required(TensorElementType::Float32));
            inputs.push(OperatorInput::optional(TensorElementType::Int32));
        }
        inputs
    }

    fn outputs(&self) -> impl IntoIterator<Item = OperatorOutput> {
        [OperatorOutput::required(if self.scaled { TensorElementType::Float32 } else { TensorElementType::Int32 })]
    }

    fn create_kernel<'attr>(&self, ctx: &KernelContext<'attr>) -> ort::Result<ConvKernel> {
        let node = ctx.node_name().unwrap_or_default();
        let fail = |what: &str| ort::Error::new(format!("{node}: {what}"));
        let ints = |name: &str, default: Vec<i64>| ctx.get::<Vec<i64>>(name).unwrap_or(default);
        let group = ctx.get::<i64>("group").unwrap_or(1);
        let weight = ctx.constant_input::<DynTensorValueType>(1).map_err(|_| fail("the weight is not a constant"))?;
        let (dims, w) = weight.try_extract_tensor::<u8>()?;
        let w_zero =
            ctx.constant_input::<DynTensorValueType>(3).map_err(|_| fail("the weight zero point is not a constant"))?;
        let (_, w_zero) = w_zero.try_extract_tensor::<u8>()?;
        let (&[w_zero], &[out_channels, in_channels, kernel]) = (w_zero, &dims[..]) else {
            return Err(fail("only 1-D convolutions with one weight zero point are supported"));
        };
        let [stride] = ints("strides", vec![1])[..] else { return Err(fail("one stride expected")) };
        let [dilation] = ints("dilations", vec![1])[..] else { return Err(fail("one dilation expected")) };
        let [pad_begin, pad_end] = ints("pads", vec![0, 0])[..] else { return Err(fail("two pads expected")) };
        let values = [out_channels, in_channels, kernel, stride, dilation, pad_begin, pad_end];
        if group != 1 || stride != 1 || values.iter().any(|&v| v < 0) || values[..5].contains(&0) {
            return Err(fail("unsupported convolution attributes"));
        }
        let [out_channels, in_channels, kernel, stride, dilation, pad_begin, pad_end] = values.map(|v| v as usize);
        let shape = ConvShape { in_channels, out_channels, kernel, stride, dilation, pad_begin, pad_end };
        Ok(ConvKernel { packed: shared_pack(&node, shape, w, w_zero, self.isa), scaled: self.scaled })
    }
}

/// A node's packed weights; its output for each input.
pub struct ConvKernel {
    packed: Arc<PackedConv>,
    scaled: bool,
}

impl Kernel for ConvKernel {
    fn compute(&mut self, ctx: &ComputeContext) -> ort::Result<()> {
        let missing = || ort::Error::new("ConvInteger: an input is missing");
        let x = ctx.input(0)?.ok_or_else(missing)?;
        let (dims, x) = x.try_extract_tensor::<u8>()?;
        let x_zero = ctx.input(2)?.ok_or_else(missing)?;
        let (_, x_zero) = x_zero.try_extract_tensor::<u8>()?;
        let shape = *self.packed.shape();
        let (&[batch, channels, len], &[x_zero]) = (&dims[..], x_zero) else {
            return Err(ort::Error::new("ConvInteger: expected a [batch, channels, time] input and one zero point"));
        };
        let (batch, len) = (batch as usize, len as usize);
        if channels as usize != shape.in_channels {
            return Err(ort::Error::new(format!(
                "ConvInteger: {channels} input channels, the weight has {}",
                shape.in_channels
            )));
        }
        let out_len =
            shape.out_len(len).ok_or_else(|| ort::Error::new("ConvInteger: the input is shorter than the kernel"))?;
        let out_dims = vec![batch as i64, shape.out_channels as i64, out_len as i64];
        let parallel = |count: usize, f: &(dyn Fn(usize) + Sync)| {
            if count < 2 || ctx.par_for(count, count, f).is_err() {
                (0..count).for_each(f);
            }
        };
        let (x_step, out_step) = (shape.in_channels * len, shape.out_channels * out_len);
        let x = |b: usize| &x[b * x_step..(b + 1) * x_step];
        if !self.scaled {
            let mut out = ctx.output(0, out_dims)?.ok_or_else(missing)?;
            let (_, out) = out.try_extract_tensor_mut::<i32>()?;
            for (b, out) in out.chunks_exact_mut(out_step).enumerate().take(batch) {
                self.packed.run(x(b), len, x_zero, Out::Sums(out), &parallel);
            }
            return Ok(());
        }
        let scale = ctx.input(4)?.ok_or_else(missing)?;
        let (_, scale) = scale.try_extract_tensor::<f32>()?;
        let &[scale] = scale else { return Err(ort::Error::new("ConvScaled: the scale must be one value")) };
        let bias = ctx.input(5)?;
        let bias = match &bias {
            Some(bias) => Some(bias.try_extract_tensor::<i32>()?.1),
            None => None,
        };
        if bias.is_some_and(|b| b.len() != shape.out_channels) {
            return Err(ort::Error::new("ConvScaled: the bias must have one value per output channel"));
        }
        let mut out = ctx.output(0, out_dims)?.ok_or_else(missing)?;
        let (_, out) = out.try_extract_tensor_mut::<f32>()?;
        for (b, out) in out.chunks_exact_mut(out_step).enumerate().take(batch) {
            self.packed.run(x(b), len, x_zero, Out::Scaled { out, scale, bias }, &parallel);
        }
        Ok(())
    }
}

/// The process's packs, by node and weight content, held while any session uses them.
fn shared_pack(node: &str, shape: ConvShape, w: &[u8], w_zero: u8, isa: Isa) -> Arc<PackedConv> {
    type Key = (String, u64, Isa);
    static PACKS: OnceLock<Mutex<HashMap<Key, Weak<PackedConv>>>> = OnceLock::new();
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (w, w_zero, shape.stride, shape.dilation, shape.pad_begin, shape.pad_end, shape.kernel).hash(&mut hasher);
    let key = (node.to_string(), hasher.finish(), isa);
    let mut packs = PACKS.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(pack) = packs.get(&key).and_then(Weak::upgrade) {
        return pack;
    }
    packs.retain(|_, pack| pack.strong_count() > 0);
    let pack = Arc::new(PackedConv::new(shape, w, w_zero, isa));
    packs.insert(key, Arc::downgrade(&pack));
    pack
}
