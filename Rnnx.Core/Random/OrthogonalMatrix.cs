using Rnnx.Kernels;

namespace Rnnx.Random;

/// <summary>
/// Keras's <c>Orthogonal</c> draw (keras/src/initializers/random_initializers.py): A (max(r, c), min(r, c)) standard
/// normal, thin QR by Householder reflections (<see cref="HouseholderKernels.ThinQ"/>), column j of Q times
/// sign(R[j, j]), transposed when r &lt; c, times the gain.
/// </summary>
public static class OrthogonalMatrix
{
    /// <summary>Fills <paramref name="values"/> (row-major, rows x cols) with the draw, consuming rows·cols normals of <paramref name="rng"/>.</summary>
    /// <exception cref="ArgumentException">A negative size, or <paramref name="values"/> not rows·cols long.</exception>
    public static void Draw(Span<double> values, int rows, int cols, double gain, NumPyRandomState rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (rows < 0 || cols < 0 || values.Length != (long)rows * cols)
            throw new ArgumentException($"OrthogonalMatrix.Draw: {values.Length} values for a {rows} x {cols} matrix.");
        int m = Math.Max(rows, cols), n = Math.Min(rows, cols);
        var a = new double[m * n];
        rng.StandardNormal(a);
        var q = new double[m * n];
        HouseholderKernels.ThinQ(a, m, n, q);
        // q is (m, n) with orthonormal columns; the target is (rows, cols)
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++)
                values[i * cols + j] = gain * (rows >= cols ? q[i * n + j] : q[j * n + i]);
    }
}
