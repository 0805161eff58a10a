namespace Rnnx.Random;

/// <summary>
/// A complete snapshot of a <see cref="NumPyRandomState"/>, equivalent to the tuple returned by numpy's legacy
/// <c>np.random.get_state()</c>: <c>('MT19937', key, pos, has_gauss, cached_gaussian)</c>.
/// </summary>
/// <remarks>
/// Saving a snapshot with <see cref="NumPyRandomState.GetState"/> and restoring it with
/// <see cref="NumPyRandomState.SetState"/> reproduces the generator's future output exactly, including a cached
/// second Gaussian value. Equality is value-based: two snapshots are equal when their keys hold the same words and
/// the remaining fields are equal.
/// </remarks>
/// <param name="Key">The 624-word Mersenne Twister state vector (numpy's <c>key</c>).</param>
/// <param name="Position">
/// Index of the next key word to temper, in <c>[0, 624]</c>; 624 means the vector is regenerated before the next draw
/// (numpy's <c>pos</c>).
/// </param>
/// <param name="HasGauss">Whether a second polar Box–Muller value is cached (numpy's <c>has_gauss</c>).</param>
/// <param name="Gauss">The cached Gaussian value, meaningful only when <paramref name="HasGauss"/> is set (numpy's <c>cached_gaussian</c>).</param>
public sealed record MT19937State(uint[] Key, int Position, bool HasGauss, double Gauss)
{
    /// <inheritdoc/>
    public bool Equals(MT19937State? other) =>
        other is not null
        && Position == other.Position
        && HasGauss == other.HasGauss
        && Gauss.Equals(other.Gauss)
        && (ReferenceEquals(Key, other.Key) || (Key is not null && other.Key is not null && Key.AsSpan().SequenceEqual(other.Key)));

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Position);
        hash.Add(HasGauss);
        hash.Add(Gauss);
        if (Key is not null)
        {
            hash.Add(Key.Length);
            hash.AddBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Key.AsSpan()));
        }
        return hash.ToHashCode();
    }
}
