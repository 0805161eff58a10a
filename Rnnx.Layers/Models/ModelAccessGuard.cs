namespace Rnnx.Models;

/// <summary>
/// Tells reads of a model (predictions, evaluation, saving) from mutations (training, setting or loading weights,
/// compiling) without serializing the reads: a read increments a counter and checks that no mutation runs; a mutation
/// claims the model and checks that no read runs. Both steps are interlocked, so of a read and a mutation that start
/// at the same moment at least one sees the other and is refused with an <see cref="InvalidOperationException"/> naming
/// both operations. The thread that runs a mutation may read, and may run reentrant mutations, from inside it (a
/// callback of <c>Fit</c> saving a checkpoint or restoring the best weights).
/// </summary>
internal sealed class ModelAccessGuard(Func<string> modelName)
{
    /// <summary>The reads, each with its own counter so that a refused mutation can name the read that runs.</summary>
    private static readonly string[] ReadOperations = ["Predict", "Evaluate", "Call", "CallMany", "PredictMany", "GetWeights", "Save", "SaveWeights", "ExportOnnx"];
    private readonly int[] _readers = new int[ReadOperations.Length];
    private string? _mutation;
    private int _mutationThread;

    /// <summary>Marks a read as running until the scope is disposed.</summary>
    /// <exception cref="InvalidOperationException">A mutation runs on another thread.</exception>
    public ReadScope Read(string operation)
    {
        int kind = Array.IndexOf(ReadOperations, operation);
        if (kind < 0) throw new ArgumentException($"'{operation}' is not a known read.", nameof(operation));
        Interlocked.Increment(ref _readers[kind]);
        var mutation = Volatile.Read(ref _mutation);
        if (mutation is not null && Volatile.Read(ref _mutationThread) != Environment.CurrentManagedThreadId)
        {
            Interlocked.Decrement(ref _readers[kind]);
            throw new InvalidOperationException(
                $"{modelName()}: {operation} cannot run while {mutation} is running on this model; wait for {mutation} to finish (predictions may run concurrently with each other, not with {mutation}).");
        }
        return new ReadScope(this, kind);
    }

    /// <summary>
    /// Claims the model for a mutation until the scope is disposed. A <paramref name="reentrant"/> mutation may also run
    /// on the thread that already holds a mutation (nested inside it).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another mutation or any read runs.</exception>
    public MutationScope Mutate(string operation, bool reentrant = false)
    {
        int me = Environment.CurrentManagedThreadId;
        var held = Interlocked.CompareExchange(ref _mutation, operation, null);
        if (held is not null)
        {
            if (reentrant && Volatile.Read(ref _mutationThread) == me) return new MutationScope(this, nested: true);
            throw new InvalidOperationException(
                $"{modelName()}: {operation} cannot run while {held} is running on this model; one training or weight change at a time.");
        }
        Volatile.Write(ref _mutationThread, me);
        if (RunningRead() is { } reading)
        {
            Release();
            throw new InvalidOperationException(
                $"{modelName()}: {operation} cannot run while {reading} is running on this model; {operation} changes what predictions read, so run it when no Predict or Evaluate call is in progress.");
        }
        return new MutationScope(this, nested: false);
    }

    private string? RunningRead()
    {
        for (int i = 0; i < _readers.Length; i++)
            if (Volatile.Read(ref _readers[i]) > 0) return ReadOperations[i];
        return null;
    }

    private void Release()
    {
        Volatile.Write(ref _mutationThread, 0);
        Volatile.Write(ref _mutation, null);
    }

    /// <summary>Ends a read.</summary>
    public readonly struct ReadScope(ModelAccessGuard guard, int kind) : IDisposable
    {
        /// <summary>Ends the read.</summary>
        public void Dispose() => Interlocked.Decrement(ref guard._readers[kind]);
    }

    /// <summary>Ends a mutation.</summary>
    public readonly struct MutationScope(ModelAccessGuard guard, bool nested) : IDisposable
    {
        /// <summary>Ends the mutation.</summary>
        public void Dispose()
        {
            if (!nested) guard.Release();
        }
    }
}
