using Rnnx.Autodiff;

namespace Rnnx;

/// <summary>
/// A user-defined differentiable operation (like PyTorch's <c>autograd.Function</c>): <see cref="Forward"/>
/// computes the result from the inputs without recording; <see cref="Backward"/> returns the gradient of each
/// input given the output's gradient. An operation that does not override <see cref="Backward"/> can be used
/// for inference, and <see cref="Tape.Backward"/> through it throws <see cref="NotSupportedException"/> naming it.
/// </summary>
public abstract class CustomFunction
{
    /// <summary>Name used in error messages.</summary>
    public abstract string Name { get; }

    /// <summary>Computes the output (nothing is recorded while it runs).</summary>
    protected abstract Tensor Forward(ReadOnlySpan<Tensor> inputs);

    /// <summary>
    /// Writes d(objective)/d(input i) into <paramref name="inputGradients"/>[i] (same shape as the input; leave
    /// default for none) given <paramref name="outputGradient"/>. Runs without recording.
    /// </summary>
    /// <exception cref="NotSupportedException">Not overridden: the operation has no backward.</exception>
    protected virtual void Backward(ReadOnlySpan<Tensor> inputs, Tensor output, Tensor outputGradient, Span<Tensor> inputGradients) =>
        throw new NotSupportedException($"Backward: operation '{Name}' has no backward; it can only be used where no gradient flows through it.");

    /// <summary>Applies the operation, recording it on the active tape when an input requires a gradient.</summary>
    public Tensor Apply(params ReadOnlySpan<Tensor> inputs)
    {
        if (inputs.Length == 0) throw new ArgumentException($"{Name}: needs at least one input.", nameof(inputs));
        var tape = Tape.RecordingTape();
        Tensor output;
        if (tape is null) output = Forward(inputs);
        else
        {
            using (tape.NoGrad()) output = Forward(inputs);
        }
        if (!output.IsValid) throw new InvalidOperationException($"{Name}: Forward returned an invalid tensor.");
        bool any = false;
        foreach (var t in inputs) any |= t.RequiresGrad;
        if (tape is not null && any)
        {
            var o = output.Data;
            if (o.Owner != tape)
            {
                // Keep the tape's invariant that recorded outputs are its own tensors.
                var copy = tape.NewData(o.Shape, o.DType);
                if (o.DType == DType.Float32) o.Span<float>().CopyTo(copy.Span<float>());
                else o.Span<double>().CopyTo(copy.Span<double>());
                o = copy;
            }
            ref var e = ref tape.Record(CustomFunctionOp.Instance, o);
            e.ExtraStart = tape.ExtraInputs.Count;
            e.ExtraCount = inputs.Length;
            e.Ext = this;
            foreach (var t in inputs) tape.ExtraInputs.Add(t.Data);
            return new Tensor(o);
        }
        return output;
    }

    internal void RunBackward(Tape tape, in TapeEntry e)
    {
        int n = e.ExtraCount;
        var inputs = new Tensor[n];
        var grads = new Tensor[n];
        for (int i = 0; i < n; i++) inputs[i] = new Tensor(tape.ExtraInputs[e.ExtraStart + i]);
        var o = e.Out;
        var g = TensorData.Allocate(o.Shape, o.DType, false);
        if (o.DType == DType.Float32) tape.GradOf<float>(o).CopyTo(g.Span<float>());
        else tape.GradOf<double>(o).CopyTo(g.Span<double>());
        using (tape.NoGrad()) Backward(inputs, new Tensor(o), new Tensor(g), grads);
        for (int i = 0; i < n; i++)
        {
            var input = inputs[i].Data;
            if (!input.RequiresGrad || !grads[i].IsValid) continue;
            var gd = grads[i].Data;
            if (gd.Shape != input.Shape)
                throw new ShapeMismatchException($"{Name}: backward returned a gradient of shape {gd.Shape} for input {i} of shape {input.Shape}.");
            if (input.DType == DType.Float32) tape.AccumulateGrad(input, gd.Span<float>(), input.Shape);
            else tape.AccumulateGrad(input, gd.Span<double>(), input.Shape);
        }
    }
}

/// <summary>The tape's adapter for <see cref="CustomFunction"/> entries.</summary>
internal sealed class CustomFunctionOp : Op
{
    public static readonly CustomFunctionOp Instance = new();

    public override string Name => "Custom";

    public override void Backward(Tape tape, in TapeEntry e) => ((CustomFunction)e.Ext!).RunBackward(tape, e);
}
