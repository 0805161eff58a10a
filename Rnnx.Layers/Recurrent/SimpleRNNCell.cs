using Rnnx.Initializers;

namespace Rnnx.Layers;

/// <summary>
/// Fully connected recurrent cell: h_t = activation((x_t · kernel + bias) + h_{t-1} · recurrent_kernel).
/// Weights (Keras order): kernel (features, units) glorot-uniform, recurrent_kernel (units, units) orthogonal,
/// bias (units,) zeros. The output is the new state.
/// </summary>
public sealed partial class SimpleRNNCell : RecurrentCell
{
    /// <summary>Creates the cell.</summary>
    /// <param name="units">State and output size.</param>
    /// <param name="activation">Activation (default tanh; <see cref="Activation.Linear"/> for none).</param>
    /// <param name="useBias">Whether to add a bias.</param>
    /// <param name="name">Optional name.</param>
    public SimpleRNNCell(int units, Activation? activation = null, bool useBias = true, string? name = null)
        : base([units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        UseBias = useBias;
    }

    /// <summary>State size.</summary>
    public int Units { get; }

    /// <summary>The activation.</summary>
    public Activation Activation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>(features, units).</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(units, units).</summary>
    public Parameter RecurrentKernel { get; private set; } = null!;

    /// <summary>(units,).</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 1 || inputShape[0] is not int features)
            throw ShapeError($"a cell is built for (features,), got {ShapeText(inputShape)}.");
        Kernel = AddWeight("kernel", [features, Units], Initializer.GlorotUniform);
        RecurrentKernel = AddWeight("recurrent_kernel", [Units, Units], Initializer.Orthogonal);
        if (UseBias) Bias = AddWeight("bias", [Units], Initializer.Zeros);
    }

    /// <inheritdoc />
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        var z = Tensor.MatMul(input, Kernel.Value);
        if (Bias is not null) z += Bias.Value;
        z += Tensor.MatMul(states[0], RecurrentKernel.Value);
        var h = Activation.Apply(z);
        newStates[0] = h;
        return h;
    }
}

/// <summary>
/// LSTM cell (Keras defaults): z = (x·W + h·R) + b split into gates i, f, c, o (that order);
/// i, f, o = sigmoid, g = tanh(z_c); c' = f·c + i·g; h' = o·tanh(c'). States [h, c].
/// Weights: kernel (features, 4·units) glorot-uniform, recurrent_kernel (units, 4·units) orthogonal,
/// bias (4·units,) zeros with the forget slice set to ones (unit_forget_bias).
/// </summary>
public sealed partial class LSTMCell : RecurrentCell
{
    /// <summary>Creates the cell.</summary>
    public LSTMCell(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
        bool unitForgetBias = true, string? name = null) : base([units, units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        RecurrentActivation = recurrentActivation ?? Activation.Sigmoid;
        UseBias = useBias;
        UnitForgetBias = unitForgetBias;
    }

    /// <summary>State size.</summary>
    public int Units { get; }

    /// <summary>Cell and output activation (tanh).</summary>
    public Activation Activation { get; }

    /// <summary>Gate activation (sigmoid).</summary>
    public Activation RecurrentActivation { get; }

    /// <summary>Whether a bias is added.</summary>
    public bool UseBias { get; }

    /// <summary>Whether the forget-gate bias starts at one.</summary>
    public bool UnitForgetBias { get; }

    /// <summary>(features, 4·units), gates i, f, c, o.</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(units, 4·units).</summary>
    public Parameter RecurrentKernel { get; private set; } = null!;

    /// <summary>(4·units,).</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 1 || inputShape[0] is not int features)
            throw ShapeError($"a cell is built for (features,), got {ShapeText(inputShape)}.");
        int u = Units;
        Kernel = AddWeight("kernel", [features, 4 * u], Initializer.GlorotUniform);
        RecurrentKernel = AddWeight("recurrent_kernel", [u, 4 * u], Initializer.Orthogonal);
        if (UseBias)
        {
            Bias = AddWeight("bias", [4 * u], Initializer.Zeros);
            if (UnitForgetBias)
            {
                if (DType == DType.Float32) Bias.AsSpan<float>().Slice(u, u).Fill(1f);
                else Bias.AsSpan<double>().Slice(u, u).Fill(1.0);
            }
        }
    }

    /// <inheritdoc />
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        int u = Units;
        var z = Tensor.MatMul(input, Kernel.Value) + Tensor.MatMul(states[0], RecurrentKernel.Value);
        if (Bias is not null) z += Bias.Value;
        var i = RecurrentActivation.Apply(Tensor.Slice(z, 1, 0, u));
        var f = RecurrentActivation.Apply(Tensor.Slice(z, 1, u, 2 * u));
        var g = Activation.Apply(Tensor.Slice(z, 1, 2 * u, 3 * u));
        var o = RecurrentActivation.Apply(Tensor.Slice(z, 1, 3 * u, 4 * u));
        var c = f * states[1] + i * g;
        var h = o * Activation.Apply(c);
        newStates[0] = h;
        newStates[1] = c;
        return h;
    }
}

/// <summary>
/// GRU cell (Keras defaults, reset_after = true): gates z (update), r (reset), h (candidate) in that order.
/// reset_after: x_* = split(x·W + b_x), m_* = split(h·R + b_h); z = σ(x_z + m_z); r = σ(x_r + m_r);
/// ĥ = tanh(x_h + r·m_h); h' = z·h + (1 − z)·ĥ. Bias (2, 3·units) (input row, recurrent row).
/// reset_after = false: bias (3·units,); ĥ = tanh(x_h + (r·h)·R_h).
/// </summary>
public sealed partial class GRUCell : RecurrentCell
{
    /// <summary>Creates the cell.</summary>
    public GRUCell(int units, Activation? activation = null, Activation? recurrentActivation = null, bool useBias = true,
        bool resetAfter = true, string? name = null) : base([units], units, name)
    {
        Units = units;
        Activation = activation ?? Activation.Tanh;
        RecurrentActivation = recurrentActivation ?? Activation.Sigmoid;
        UseBias = useBias;
        ResetAfter = resetAfter;
    }

    /// <summary>State size.</summary>
    public int Units { get; }

    /// <summary>Candidate activation (tanh).</summary>
    public Activation Activation { get; }

    /// <summary>Gate activation (sigmoid).</summary>
    public Activation RecurrentActivation { get; }

    /// <summary>Whether biases are added.</summary>
    public bool UseBias { get; }

    /// <summary>Apply the reset gate after the recurrent matmul (Keras/CuDNN default) or before it.</summary>
    public bool ResetAfter { get; }

    /// <summary>(features, 3·units), gates z, r, h.</summary>
    public Parameter Kernel { get; private set; } = null!;

    /// <summary>(units, 3·units).</summary>
    public Parameter RecurrentKernel { get; private set; } = null!;

    /// <summary>(2, 3·units) with reset_after, else (3·units,).</summary>
    public Parameter? Bias { get; private set; }

    /// <inheritdoc />
    protected override void BuildCore(int?[] inputShape)
    {
        if (inputShape.Length != 1 || inputShape[0] is not int features)
            throw ShapeError($"a cell is built for (features,), got {ShapeText(inputShape)}.");
        int u = Units;
        Kernel = AddWeight("kernel", [features, 3 * u], Initializer.GlorotUniform);
        RecurrentKernel = AddWeight("recurrent_kernel", [u, 3 * u], Initializer.Orthogonal);
        if (UseBias) Bias = AddWeight("bias", ResetAfter ? [2, 3 * u] : [3 * u], Initializer.Zeros);
    }

    /// <inheritdoc />
    public override Tensor Step(Tensor input, ReadOnlySpan<Tensor> states, Span<Tensor> newStates)
    {
        int u = Units;
        var h = states[0];
        var xw = Tensor.MatMul(input, Kernel.Value);
        Tensor z, r, hh;
        if (ResetAfter)
        {
            var hr = Tensor.MatMul(h, RecurrentKernel.Value);
            if (Bias is not null)
            {
                xw += Tensor.Select(Bias.Value, 0, 0);
                hr += Tensor.Select(Bias.Value, 0, 1);
            }
            z = RecurrentActivation.Apply(Tensor.Slice(xw, 1, 0, u) + Tensor.Slice(hr, 1, 0, u));
            r = RecurrentActivation.Apply(Tensor.Slice(xw, 1, u, 2 * u) + Tensor.Slice(hr, 1, u, 2 * u));
            hh = Activation.Apply(Tensor.Slice(xw, 1, 2 * u, 3 * u) + r * Tensor.Slice(hr, 1, 2 * u, 3 * u));
        }
        else
        {
            if (Bias is not null) xw += Bias.Value;
            var rk = RecurrentKernel.Value;
            z = RecurrentActivation.Apply(Tensor.Slice(xw, 1, 0, u) + Tensor.MatMul(h, Tensor.Slice(rk, 1, 0, u)));
            r = RecurrentActivation.Apply(Tensor.Slice(xw, 1, u, 2 * u) + Tensor.MatMul(h, Tensor.Slice(rk, 1, u, 2 * u)));
            hh = Activation.Apply(Tensor.Slice(xw, 1, 2 * u, 3 * u) + Tensor.MatMul(r * h, Tensor.Slice(rk, 1, 2 * u, 3 * u)));
        }
        var hNew = z * h + (1.0 - z) * hh;
        newStates[0] = hNew;
        return hNew;
    }
}
