using Rnnx.Autodiff.Ops;
using Rnnx.Kernels;

namespace Rnnx;

public readonly partial struct Tensor
{
    // ------------------------------------------------------------ element-wise, broadcasting

    /// <summary>a + b with numpy broadcasting (e.g. a bias (n,) added to (batch, n)).</summary>
    /// <exception cref="ShapeMismatchException">The shapes cannot be broadcast together.</exception>
    public static Tensor Add(Tensor a, Tensor b) => BinaryOp.Apply(BinaryKind.Add, a, b);

    /// <summary>a - b with broadcasting.</summary>
    /// <exception cref="ShapeMismatchException">The shapes cannot be broadcast together.</exception>
    public static Tensor Subtract(Tensor a, Tensor b) => BinaryOp.Apply(BinaryKind.Subtract, a, b);

    /// <summary>a * b (element-wise) with broadcasting.</summary>
    /// <exception cref="ShapeMismatchException">The shapes cannot be broadcast together.</exception>
    public static Tensor Multiply(Tensor a, Tensor b) => BinaryOp.Apply(BinaryKind.Multiply, a, b);

    /// <summary>a / b (element-wise) with broadcasting.</summary>
    /// <exception cref="ShapeMismatchException">The shapes cannot be broadcast together.</exception>
    public static Tensor Divide(Tensor a, Tensor b) => BinaryOp.Apply(BinaryKind.Divide, a, b);

    /// <summary>Element-wise sum with broadcasting.</summary>
    public static Tensor operator +(Tensor a, Tensor b) => Add(a, b);

    /// <summary>Element-wise difference with broadcasting.</summary>
    public static Tensor operator -(Tensor a, Tensor b) => Subtract(a, b);

    /// <summary>Element-wise product with broadcasting.</summary>
    public static Tensor operator *(Tensor a, Tensor b) => Multiply(a, b);

    /// <summary>Element-wise quotient with broadcasting.</summary>
    public static Tensor operator /(Tensor a, Tensor b) => Divide(a, b);

    /// <summary>Adds a constant.</summary>
    public static Tensor operator +(Tensor a, double b) => Add(a, ScalarLike(a, b));

    /// <summary>Subtracts a constant.</summary>
    public static Tensor operator -(Tensor a, double b) => Subtract(a, ScalarLike(a, b));

    /// <summary>Constant minus tensor.</summary>
    public static Tensor operator -(double a, Tensor b) => Subtract(ScalarLike(b, a), b);

    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(Tensor a, double b) => Multiply(a, ScalarLike(a, b));

    /// <summary>Multiplies by a constant.</summary>
    public static Tensor operator *(double a, Tensor b) => Multiply(b, ScalarLike(b, a));

    /// <summary>Divides by a constant.</summary>
    public static Tensor operator /(Tensor a, double b) => Divide(a, ScalarLike(a, b));

    /// <summary>Element-wise negation.</summary>
    public static Tensor operator -(Tensor a) => Negate(a);

    private static Tensor ScalarLike(Tensor like, double value)
    {
        var d = Tape.NewResult(Shape.Scalar, like.DType);
        if (d.DType == DType.Float32) d.Span<float>()[0] = (float)value;
        else d.Span<double>()[0] = value;
        return new Tensor(d);
    }

    /// <summary>-x.</summary>
    public static Tensor Negate(Tensor x) => UnaryOp.Apply(UnaryKind.Negate, x);

    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x) => UnaryOp.Apply(UnaryKind.Exp, x);

    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x) => UnaryOp.Apply(UnaryKind.Log, x);

    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x) => UnaryOp.Apply(UnaryKind.Sqrt, x);

    /// <summary>x².</summary>
    public static Tensor Square(Tensor x) => UnaryOp.Apply(UnaryKind.Square, x);

    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x) => UnaryOp.Apply(UnaryKind.Tanh, x);

    /// <summary>Logistic sigmoid 1/(1+e^-x).</summary>
    public static Tensor Sigmoid(Tensor x) => UnaryOp.Apply(UnaryKind.Sigmoid, x);

    /// <summary>max(x, 0); the derivative at 0 is 0, as in TensorFlow.</summary>
    public static Tensor Relu(Tensor x) => UnaryOp.Apply(UnaryKind.Relu, x);

    /// <summary>|x|; the derivative at 0 is 0.</summary>
    public static Tensor Abs(Tensor x) => UnaryOp.Apply(UnaryKind.Abs, x);

    /// <summary>softplus(x) = log(1 + eˣ) in the stable form max(x, 0) + log1p(e^−|x|); the derivative is σ(x).</summary>
    public static Tensor Softplus(Tensor x) => UnaryOp.Apply(UnaryKind.Softplus, x);

    /// <summary>gelu(x) = ½ x (1 + erf(x/√2)): Keras's <c>gelu</c> with its default <c>approximate=False</c>.</summary>
    public static Tensor Gelu(Tensor x) => UnaryOp.Apply(UnaryKind.Gelu, x);

    /// <summary>elu(x) = x for x &gt; 0, else eˣ − 1 (Keras's <c>elu</c>, α = 1).</summary>
    public static Tensor Elu(Tensor x) => UnaryOp.Apply(UnaryKind.Elu, x);

    /// <summary>Keras's selu α (<see cref="Selu"/>).</summary>
    public const double SeluAlpha = ActivationKernels.SeluAlpha;

    /// <summary>Keras's selu scale (<see cref="Selu"/>).</summary>
    public const double SeluScale = ActivationKernels.SeluScale;

    /// <summary>selu(x) = scale · elu_α(x) with Keras's α ≈ 1.6733 and scale ≈ 1.0507.</summary>
    public static Tensor Selu(Tensor x) => UnaryOp.Apply(UnaryKind.Selu, x);

    /// <summary>swish(x) = x σ(x) (Keras's <c>swish</c>, also called silu).</summary>
    public static Tensor Swish(Tensor x) => UnaryOp.Apply(UnaryKind.Swish, x);

    /// <summary>
    /// Softmax along <paramref name="axis"/> (default the last, as Keras), max-shifted so no finite input overflows.
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range.</exception>
    public static Tensor Softmax(Tensor x, int axis = -1) => SoftmaxOp.Softmax.Apply(x, axis);

    /// <summary>
    /// log(softmax(x)) along <paramref name="axis"/>, computed as (x − max) − log Σ exp(x − max): finite wherever the
    /// input is, unlike <c>Log(Softmax(x))</c> (the form the cross-entropy losses use with <c>fromLogits</c>).
    /// </summary>
    /// <exception cref="ArgumentException">The axis is out of range.</exception>
    public static Tensor LogSoftmax(Tensor x, int axis = -1) => SoftmaxOp.LogSoftmax.Apply(x, axis);

    /// <summary>
    /// Max pooling over the length axis of (batch, length, channels) (Keras <c>MaxPooling1D</c>): windows of
    /// <paramref name="poolSize"/> every <paramref name="stride"/> rows, valid or same padding as TensorFlow (padding
    /// never wins). The gradient goes to the first maximum of each window.
    /// </summary>
    /// <exception cref="ShapeMismatchException">x is not rank 3, or the window is longer than the input with valid padding.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size below 1, or causal padding.</exception>
    public static Tensor MaxPool1D(Tensor x, int poolSize, int stride, Conv1DPadding padding = Conv1DPadding.Valid) =>
        Pool1DOp.Max.Apply(x, poolSize, stride, padding);

    /// <summary>
    /// Average pooling like <see cref="MaxPool1D"/> (Keras <c>AveragePooling1D</c>): each window's mean over its real
    /// rows only (same padding does not count the padded positions, as TensorFlow).
    /// </summary>
    /// <exception cref="ShapeMismatchException">x is not rank 3, or the window is longer than the input with valid padding.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size below 1, or causal padding.</exception>
    public static Tensor AveragePool1D(Tensor x, int poolSize, int stride, Conv1DPadding padding = Conv1DPadding.Valid) =>
        Pool1DOp.Average.Apply(x, poolSize, stride, padding);

    /// <summary>
    /// x clamped to [min, max]. The gradient passes where x is inside the bounds (inclusive) and is 0 where x was
    /// clipped, as TensorFlow's <c>clip_by_value</c>.
    /// </summary>
    /// <exception cref="ArgumentException">min &gt; max or a bound is NaN.</exception>
    public static Tensor Clip(Tensor x, double min, double max) => ClipOp.Apply(x, min, max);

    /// <summary>
    /// act(x + bias) with bias (n,) added to every row of x (..., n), fused in one pass with a fused backward: the
    /// epilogue of Dense and Conv1D layers.
    /// </summary>
    /// <exception cref="ShapeMismatchException">bias is not (last dimension,).</exception>
    public static Tensor BiasActivation(Tensor x, Tensor bias, FusedActivation activation = FusedActivation.Linear)
        => BiasActivationOp.Apply(x, bias, activation);

    // ------------------------------------------------------------ linear algebra

    /// <summary>
    /// Matrix product on the last two axes: (m, k) x (k, n) → (m, n); (..., m, k) x (k, n) → (..., m, n)
    /// (a Dense layer on a sequence); (b..., m, k) x (b..., k, n) → (b..., m, n) with equal batch axes.
    /// </summary>
    /// <exception cref="ShapeMismatchException">Inner dimensions, ranks or batch axes do not match, e.g. <c>MatMul: inner dimensions differ, (32, 20) x (21, 80)</c>.</exception>
    public static Tensor MatMul(Tensor a, Tensor b) => MatMulOp.Apply(a, b);

    /// <summary>Permutes the axes (numpy <c>transpose(x, axes)</c>); with no permutation, swaps the last two axes.</summary>
    /// <exception cref="ShapeMismatchException">The permutation's length differs from the rank.</exception>
    public static Tensor Transpose(Tensor x, params ReadOnlySpan<int> permutation) => TransposeOp.Apply(x, permutation);

    // ------------------------------------------------------------ shape

    /// <summary>Same data, new shape (a view; one dimension may be -1 to infer it).</summary>
    /// <exception cref="ShapeMismatchException">The element counts differ.</exception>
    public static Tensor Reshape(Tensor x, params ReadOnlySpan<int> shape)
    {
        int infer = -1, known = 1;
        Span<int> dims = stackalloc int[Shape.MaxRank];
        if (shape.Length > Shape.MaxRank) throw new ArgumentException($"Reshape: rank {shape.Length} exceeds {Shape.MaxRank}.", nameof(shape));
        for (int i = 0; i < shape.Length; i++)
        {
            dims[i] = shape[i];
            if (shape[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException("Reshape: only one dimension may be -1.", nameof(shape));
                infer = i;
            }
            else if (shape[i] <= 0) throw new ArgumentException($"Reshape: dimension {i} is {shape[i]}; sizes must be positive (or -1 to infer).", nameof(shape));
            else known *= shape[i];
        }
        if (infer >= 0)
        {
            int size = x.Size;
            if (size % known != 0)
                throw new ShapeMismatchException($"Reshape: cannot reshape {x.Shape} ({size} elements) to {Shape.Format(shape)}.");
            dims[infer] = size / known;
        }
        return ReshapeOp.Apply(x, new Shape(dims[..shape.Length]));
    }

    /// <summary>Same data, new shape (a view).</summary>
    /// <exception cref="ShapeMismatchException">The element counts differ.</exception>
    public static Tensor Reshape(Tensor x, Shape shape) => ReshapeOp.Apply(x, shape);

    /// <summary>
    /// <c>x[..., start:stop:step, ...]</c> along <paramref name="axis"/> with Python semantics (negative indices
    /// count from the end, bounds are clamped); e.g. <c>Slice(y, 1, 3, null, 2)</c> is numpy's <c>Y[:, 3::2]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Bad axis, a step below 1, or an empty selection.</exception>
    public static Tensor Slice(Tensor x, int axis, int? start, int? stop, int step = 1) => SliceOp.Apply(x, axis, start, stop, step);

    /// <summary><c>x[..., index, ...]</c>: one position along <paramref name="axis"/>, with that axis removed (e.g. time step t of (batch, time, features)).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is out of range.</exception>
    public static Tensor Select(Tensor x, int axis, int index)
    {
        var shape = x.Shape;
        int ax = shape.NormalizeAxis(axis, "Select");
        int len = shape[ax];
        int i = index < 0 ? index + len : index;
        if ((uint)i >= (uint)len)
            throw new ArgumentOutOfRangeException(nameof(index), $"Select: index {index} is out of range for axis {axis} of length {len} in {shape}.");
        var s = SliceOp.Apply(x, ax, i, i + 1, 1);
        return ReshapeOp.Apply(s, shape.Remove(ax));
    }

    /// <summary>Joins tensors along an existing axis; all other dimensions must agree.</summary>
    /// <exception cref="ShapeMismatchException">Shapes differ off the axis.</exception>
    public static Tensor Concat(int axis, params ReadOnlySpan<Tensor> tensors) => ConcatOp.Apply(tensors, axis, stack: false);

    /// <summary>Stacks equally shaped tensors along a new axis (e.g. per-step outputs into (batch, time, units) with axis 1).</summary>
    /// <exception cref="ShapeMismatchException">Shapes differ.</exception>
    public static Tensor Stack(int axis, params ReadOnlySpan<Tensor> tensors) => ConcatOp.Apply(tensors, axis, stack: true);

    /// <summary>
    /// Reverses the order of positions along <paramref name="axis"/> (numpy's and Keras's <c>flip</c>), e.g. a sequence
    /// (batch, time, units) back into time order after a layer that ran from the last step to the first.
    /// </summary>
    /// <exception cref="ArgumentException">Bad axis.</exception>
    public static Tensor Flip(Tensor x, int axis) => FlipOp.Apply(x, axis);

    // ------------------------------------------------------------ reductions

    /// <summary>Sum over <paramref name="axes"/> (all axes when none are given).</summary>
    public static Tensor Sum(Tensor x, params ReadOnlySpan<int> axes) => SumOp.Apply(x, axes, keepDims: false, mean: false);

    /// <summary>Sum over <paramref name="axes"/>, optionally keeping them as size-1 dimensions.</summary>
    public static Tensor Sum(Tensor x, bool keepDims, params ReadOnlySpan<int> axes) => SumOp.Apply(x, axes, keepDims, mean: false);

    /// <summary>Mean over <paramref name="axes"/> (all axes when none are given).</summary>
    public static Tensor Mean(Tensor x, params ReadOnlySpan<int> axes) => SumOp.Apply(x, axes, keepDims: false, mean: true);

    /// <summary>Mean over <paramref name="axes"/>, optionally keeping them as size-1 dimensions.</summary>
    public static Tensor Mean(Tensor x, bool keepDims, params ReadOnlySpan<int> axes) => SumOp.Apply(x, axes, keepDims, mean: true);

    // ------------------------------------------------------------ losses

    /// <summary>Mean squared error over all elements, Keras's <c>MeanSquaredError()</c> with sum-over-batch-size reduction.</summary>
    /// <exception cref="ShapeMismatchException">Targets and predictions differ in shape.</exception>
    public static Tensor MeanSquaredError(Tensor yTrue, Tensor yPred) => LossOp.Apply(LossKind.MeanSquaredError, yTrue, yPred, 0);

    /// <summary>Mean absolute error over all elements.</summary>
    /// <exception cref="ShapeMismatchException">Targets and predictions differ in shape.</exception>
    public static Tensor MeanAbsoluteError(Tensor yTrue, Tensor yPred) => LossOp.Apply(LossKind.MeanAbsoluteError, yTrue, yPred, 0);

    /// <summary>Huber loss (quadratic within <paramref name="delta"/>, linear beyond), mean over all elements.</summary>
    /// <exception cref="ShapeMismatchException">Targets and predictions differ in shape.</exception>
    public static Tensor Huber(Tensor yTrue, Tensor yPred, double delta = 1.0)
    {
        if (!(delta > 0)) throw new ArgumentOutOfRangeException(nameof(delta), $"Huber: delta must be positive, got {delta}.");
        return LossOp.Apply(LossKind.Huber, yTrue, yPred, delta);
    }

    // ------------------------------------------------------------ sequence ops

    /// <summary>
    /// Channels-last 1-D convolution (cross-correlation) of x (batch, length, in) with a kernel (size, in, filters).
    /// Causal padding pads <c>dilation * (size - 1)</c> zeros on the left; same padding follows TensorFlow.
    /// </summary>
    /// <returns>(batch, outputLength, filters), outputLength from <see cref="Conv1DOutputLength"/>.</returns>
    /// <exception cref="ShapeMismatchException">Ranks or channel counts do not match.</exception>
    public static Tensor Conv1D(Tensor x, Tensor kernel, int stride = 1, int dilation = 1, Conv1DPadding padding = Conv1DPadding.Valid)
        => Conv1DOp.Apply(x, kernel, stride, dilation, padding);

    /// <summary>
    /// act(<see cref="Conv1D"/>(x, kernel) + bias) as one op: the same values as <see cref="Conv1D"/> followed by
    /// <see cref="BiasActivation"/>, but only the output is kept for backward (the Conv1D layer's forward pass).
    /// </summary>
    /// <returns>(batch, outputLength, filters).</returns>
    /// <exception cref="ShapeMismatchException">Ranks or channel counts do not match, or bias is not (filters,).</exception>
    /// <exception cref="ArgumentException">The dtypes differ.</exception>
    /// <exception cref="ArgumentOutOfRangeException">stride or dilation below 1, or an unknown activation.</exception>
    public static Tensor Conv1DBiasActivation(Tensor x, Tensor kernel, Tensor bias, FusedActivation activation,
        int stride = 1, int dilation = 1, Conv1DPadding padding = Conv1DPadding.Valid)
        => Conv1DBiasActivationOp.Apply(x, kernel, bias, activation, stride, dilation, padding);

    /// <summary>The output length of <see cref="Conv1D"/> over <paramref name="inputLength"/> steps (Keras/TensorFlow rules).</summary>
    /// <exception cref="ArgumentException">The window does not fit (valid padding) or an argument is not positive.</exception>
    public static int Conv1DOutputLength(int inputLength, int kernelSize, int stride = 1, int dilation = 1, Conv1DPadding padding = Conv1DPadding.Valid)
        => Conv1DGeometry.Create(inputLength, kernelSize, stride, dilation, padding).OutputLength;

    /// <summary>Layer normalization over the last axis: gamma * (x - mean)/sqrt(var + epsilon) + beta (fused forward and backward).</summary>
    /// <exception cref="ShapeMismatchException">gamma or beta is not (last dimension,).</exception>
    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, double epsilon = 1e-3) => LayerNormOp.Apply(x, gamma, beta, epsilon);
}
