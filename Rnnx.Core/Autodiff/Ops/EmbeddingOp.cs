using System.Numerics;
using Rnnx.Kernels;

namespace Rnnx.Autodiff.Ops;

/// <summary>
/// Embedding lookup (<see cref="Tensor.Embedding"/>): y[..., :] = table[ids[...], :]. The ids are constants (never
/// differentiated); backward scatter-adds g's rows into the table's gradient (<see cref="EmbeddingKernels.ScatterAdd{T}"/>).
/// Saved: the ids as integers (tape scratch), so backward does not convert them again.
/// </summary>
internal sealed class EmbeddingOp : Op
{
    public static readonly EmbeddingOp Instance = new();

    public override string Name => "Embedding";

    /// <summary>Looks the ids up (already checked by <see cref="Tensor.Embedding"/>: integers in [0, rows of table)).</summary>
    public static Tensor Apply(Tensor ids, Tensor table, ReadOnlySpan<int> index)
    {
        TensorData dt = table.Data;
        int width = dt.Shape[1];
        var y = Tape.NewResult(ids.Shape.Insert(ids.Rank, width), dt.DType);
        if (dt.DType == DType.Float32) EmbeddingKernels.Gather(dt.Span<float>(), width, index, y.Span<float>());
        else EmbeddingKernels.Gather(dt.Span<double>(), width, index, y.Span<double>());
        if (dt.RequiresGrad && Tape.RecordingTape() is { } tape)
        {
            // The ids as a float tensor of the table's dtype keep the entry self-contained; converted back in backward.
            ref var e = ref tape.Record(Instance, y);
            e.A = dt;
            e.B = ids.Data;
        }
        return new Tensor(y);
    }

    public override void Backward(Tape tape, in TapeEntry e)
    {
        if (e.Out.DType == DType.Float32) Run<float>(tape, e);
        else Run<double>(tape, e);
    }

    private static void Run<T>(Tape tape, in TapeEntry e) where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        TensorData table = e.A!, ids = e.B!;
        int width = table.Shape[1];
        var index = tape.Scratch<int>(ids.Length);
        Tensor.IdsToIndex(ids, index);
        EmbeddingKernels.ScatterAdd(tape.GradOf<T>(e.Out), width, index, tape.Grad<T>(table));
    }
}
