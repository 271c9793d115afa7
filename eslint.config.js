import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'web/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Only cli/, server/ and sensor/ read process.env.' },
      ],
    },
  },
  {
    files: ['src/cli/**', 'src/server/**', 'src/sensor/**', 'test/**', 'bench/**', '**/*.test.ts', 'scripts/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
